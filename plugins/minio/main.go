// Command minio is Pail's MinIO driver module. Build it for wasip1 in
// c-shared mode; the host calls _initialize, which runs init() in
// register_wasip1.go. main never runs.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o bin/drivers/minio.wasm ./plugins/minio
package main

func main() {}
