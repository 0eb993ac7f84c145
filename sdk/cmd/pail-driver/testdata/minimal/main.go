// Command minimal is the smallest Pail driver: it declares buckets and
// answers nothing else. pail-driver's tests build it for wasip1, because it
// compiles in seconds where a real driver takes a minute.
package main

import (
	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driver"
	"github.com/pail-dev/pail/sdk/guest"
	"github.com/pail-dev/pail/sdk/wasmmeta"
)

var d = driver.Funcs{Info: abi.DriverInfo{
	Name: "minimal", Version: "0.0.1", ABI: abi.Version,
	Capabilities: []string{abi.CapBuckets},
	Operations:   []string{abi.OpCheckProvider},
}}

func init() { guest.Register(d) }

func main() { wasmmeta.PrintMetadata(d.Describe()) }
