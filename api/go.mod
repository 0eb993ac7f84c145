module github.com/pail-dev/pail/api

go 1.26
