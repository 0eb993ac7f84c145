// Command aws is Pail's Amazon S3 driver module. Build it for wasip1 in
// c-shared mode; the host calls _initialize, which runs init() in
// register_wasip1.go. main never runs.
//
//	GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared -o bin/drivers/aws.wasm ./plugins/aws
package main

func main() {}
