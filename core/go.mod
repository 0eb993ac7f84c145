module github.com/pail-dev/pail/core

go 1.26
