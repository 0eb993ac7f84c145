// Command pail-tools builds the servers Pail's tests need and prints where
// they are cached.
//
//	pail-tools ensure [kube-apiserver|kube-controller-manager|etcd|minio|versitygw ...]   build what is missing (all by default)
//	pail-tools path NAME                                          print the cached path
//	pail-tools envtest                                            print the envtest assets directory
package main

import (
	"fmt"
	"os"

	"github.com/pail-dev/pail/test/tools"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "ensure":
		names := os.Args[2:]
		if len(names) == 0 {
			names = tools.All
		}
		if _, err := tools.Ensure(os.Stderr, names...); err != nil {
			fail(err)
		}
	case "path":
		if len(os.Args) != 3 {
			usage()
		}
		fmt.Println(tools.Path(os.Args[2]))
	case "envtest":
		dir, err := tools.EnvtestDir(os.Stderr)
		if err != nil {
			fail(err)
		}
		fmt.Println(dir)
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: pail-tools ensure [kube-apiserver|kube-controller-manager|etcd|minio|versitygw ...] | path NAME | envtest")
	os.Exit(2)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "pail-tools:", err)
	os.Exit(1)
}
