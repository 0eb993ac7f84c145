// Command minio is Pail's MinIO driver module. Build it for wasip1 in
// c-shared mode; the host calls _initialize, which runs init() in
// register_wasip1.go. main never runs there.
//
// Built natively, main prints the driver's metadata as JSON: `make plugins`
// embeds it in the module's pail.driver custom section (sdk/wasmmeta).
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o bin/drivers/minio.wasm ./plugins/minio
package main

import (
	"github.com/pail-dev/pail/plugins/minio/driver"
	"github.com/pail-dev/pail/sdk/wasmmeta"
)

func main() { wasmmeta.PrintMetadata(driver.New(nil).Describe()) }
