// Command flexauth-outbox is the outbox delivery plugin as a standalone
// executable, and the example of an external plugin: drop the binary into
// flexauth's plugin folder and it is discovered under its file name.
package main

import (
	"github.com/flexauth/flexauth/plugins/delivery/outbox"
	"github.com/flexauth/flexauth/plugins/sdk"
)

func main() { sdk.ServeDelivery(outbox.New()) }
