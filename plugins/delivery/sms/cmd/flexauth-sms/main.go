// Command flexauth-sms is the SMS delivery plugin (Twilio-compatible REST
// gateway) as a standalone executable: drop the binary into flexauth's
// plugin folder and configure it with account_sid, auth_token and from.
package main

import (
	"github.com/flexauth/flexauth/plugins/delivery/sms"
	"github.com/flexauth/flexauth/plugins/sdk"
)

func main() { sdk.ServeDelivery(sms.New()) }
