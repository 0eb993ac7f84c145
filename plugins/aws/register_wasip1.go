//go:build wasip1

package main

import (
	"github.com/pail-dev/pail/plugins/aws/driver"
	"github.com/pail-dev/pail/sdk/guest"
)

func init() { guest.Register(driver.New(guest.Transport())) }
