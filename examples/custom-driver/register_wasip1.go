//go:build wasip1

package main

import (
	"example.com/pail-driver-versity/driver"

	"github.com/pail-dev/pail/sdk/guest"
)

// The host runs _initialize, which runs init(): every request of the driver
// goes through the host's transport, which enforces the Provider's
// allow-list, limits and TLS settings.
func init() { guest.Register(driver.New(guest.Transport())) }
