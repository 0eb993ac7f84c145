// Command pail-driver-versity is an example third-party Pail driver for
// versitygw's posix gateway, built outside the operator's repository layout
// as its own Go module.
//
// Build the module for the operator (main never runs there; init() in
// register_wasip1.go registers the driver when the host runs _initialize):
//
//	GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared -o versity.wasm .
//
// Built natively, main prints the driver's metadata as JSON, which
// `pail-driver embed` puts in the module's pail.driver custom section:
//
//	go run . > versity.meta.json
package main

import (
	"example.com/pail-driver-versity/driver"

	"github.com/pail-dev/pail/sdk/wasmmeta"
)

func main() { wasmmeta.PrintMetadata(driver.New(nil).Describe()) }
