// Command flexauth-webhook is the webhook delivery plugin as a standalone
// executable: drop it into flexauth's plugin folder and configure its url
// and secret.
package main

import (
	"github.com/flexauth/flexauth/plugins/delivery/webhook"
	"github.com/flexauth/flexauth/plugins/sdk"
)

func main() { sdk.ServeDelivery(webhook.New()) }
