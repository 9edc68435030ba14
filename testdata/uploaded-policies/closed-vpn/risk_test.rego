package flexauth.risk_test

import data.flexauth.risk

test_vpn_is_closed if {
	not risk.decision.allow with input as {"system": {"name": "vpn", "methods": ["pin"]}, "subject": {"assigned_method": "pin"}}
}

test_wiki_is_open if {
	risk.decision.allow with input as {"system": {"name": "wiki", "methods": ["pin"]}, "subject": {"assigned_method": "pin"}}
}
