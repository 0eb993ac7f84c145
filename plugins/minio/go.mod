module github.com/pail-dev/pail/plugins/minio

go 1.26
