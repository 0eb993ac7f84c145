module github.com/pail-dev/pail/test/tools

go 1.26
