module github.com/pail-dev/pail/test

go 1.26
