module github.com/pail-dev/pail/sdk

go 1.26
