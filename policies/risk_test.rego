package flexauth.risk_test

import data.flexauth.risk

# A low-risk sign-in: low-sensitivity system, known IP, no failures. Each test
# changes only what it is about.
base := {
	"subject": {
		"account": "acc-1",
		"authid": "alice",
		"assigned_method": "passwordless",
		"totp_enrolled": false,
		"has_email": true,
		"has_phone": false,
	},
	"account": {"id": "acc-1", "email_delivery": true, "email_login": true},
	"system": {
		"name": "wiki",
		"methods": ["passwordless", "pin", "totp", "sso"],
		"sensitivity": "low",
		"ttl_seconds": 0,
	},
	"request": {"ip": "198.51.100.7", "user_agent": "test", "time": "2025-01-02T03:04:05Z"},
	"history": {"recent_failures": 0, "last_ip": "198.51.100.7", "login_count": 3, "new_ip": false, "locked_factors": []},
}

# decide evaluates the policy on base with patch merged in (objects merge
# recursively; arrays are replaced).
decide(patch) := d if {
	d := risk.decision with input as object.union(base, patch)
}

high_new_ip_enrolled := {
	"subject": {"totp_enrolled": true},
	"system": {"sensitivity": "high"},
	"request": {"ip": "203.0.113.9"},
	"history": {"new_ip": true},
}

# --- the assigned method ---------------------------------------------------

test_low_risk_sign_in_uses_assigned_method if {
	decide({}) == {
		"allow": true,
		"method": "passwordless",
		"ttl_seconds": 300,
		"max_attempts": 5,
		"risk": "low",
		"channel": "email",
		"reasons": ["sensitivity low", "known IP 198.51.100.7", "no recent failures"],
	}
}

test_every_known_method_can_be_assigned if {
	every m in ["passwordless", "pin", "totp", "sso"] {
		d := decide({"subject": {"assigned_method": m, "totp_enrolled": true}})
		d.allow
		d.method == m
	}
}

test_assigned_method_not_enabled_denies if {
	d := decide({"subject": {"assigned_method": "pin"}, "system": {"methods": ["passwordless"]}})
	not d.allow
	"assigned method pin is not enabled on system wiki" in d.reasons
}

test_no_enabled_methods_denies if {
	d := decide({"system": {"methods": []}})
	not d.allow
	"assigned method passwordless is not enabled on system wiki" in d.reasons
}

test_unknown_assigned_method_denies if {
	every m in ["sms", ""] {
		d := decide({"subject": {"assigned_method": m}})
		not d.allow
		sprintf("unknown assigned method %q", [m]) in d.reasons
	}
}

# --- step-up ---------------------------------------------------------------

test_step_up_to_totp_on_high_sensitivity_and_new_ip if {
	d := decide(high_new_ip_enrolled)
	d.allow
	d.method == "totp"
	d.risk == "high"
	"step-up to totp: high-sensitivity system and new IP" in d.reasons
	"new IP 203.0.113.9" in d.reasons
}

test_step_up_to_totp_on_high_sensitivity_and_failures if {
	d := decide({
		"subject": {"totp_enrolled": true},
		"system": {"sensitivity": "high"},
		"history": {"recent_failures": 2},
	})
	d.allow
	d.method == "totp"
	"step-up to totp: high-sensitivity system and 2 recent failures" in d.reasons
	"2 recent failures" in d.reasons
}

test_step_up_names_every_signal if {
	d := decide(object.union(high_new_ip_enrolled, {"history": {"recent_failures": 1}}))
	d.method == "totp"
	"step-up to totp: high-sensitivity system and new IP and 1 recent failures" in d.reasons
}

test_step_up_also_replaces_pin if {
	d := decide(object.union(high_new_ip_enrolled, {"subject": {"assigned_method": "pin"}}))
	d.allow
	d.method == "totp"
}

test_no_step_up_on_high_sensitivity_alone if {
	d := decide({"subject": {"totp_enrolled": true}, "system": {"sensitivity": "high"}})
	d.allow
	d.method == "passwordless"
	d.risk == "medium"
}

test_no_step_up_below_high_sensitivity if {
	every s in ["low", "medium"] {
		d := decide(object.union(high_new_ip_enrolled, {"system": {"sensitivity": s}}))
		d.allow
		d.method == "passwordless"
		d.risk == "medium"
		not any_step_up_reason(d.reasons)
	}
}

test_no_step_up_when_not_enrolled if {
	d := decide(object.union(high_new_ip_enrolled, {"subject": {"totp_enrolled": false}}))
	d.allow
	d.method == "passwordless"
	d.risk == "high"
	"no step-up: totp not enrolled" in d.reasons
}

test_no_step_up_when_totp_not_enabled if {
	d := decide(object.union(high_new_ip_enrolled, {"system": {"methods": ["passwordless", "pin"]}}))
	d.allow
	d.method == "passwordless"
	"no step-up: totp not enabled on system wiki" in d.reasons
}

test_assigned_totp_needs_no_step_up if {
	d := decide(object.union(high_new_ip_enrolled, {"subject": {"assigned_method": "totp"}}))
	d.allow
	d.method == "totp"
	not any_step_up_reason(d.reasons)
}

any_step_up_reason(reasons) if {
	some r in reasons
	contains(r, "step-up")
}

# --- what the user must have -----------------------------------------------

test_totp_not_enrolled_denies if {
	d := decide({"subject": {"assigned_method": "totp"}})
	not d.allow
	"totp not enrolled" in d.reasons
}

test_totp_needs_no_contact_address if {
	d := decide({"subject": {"assigned_method": "totp", "totp_enrolled": true, "has_email": false}})
	d.allow
}

test_delivered_method_without_contact_address_denies if {
	every m in ["passwordless", "pin"] {
		d := decide({"subject": {"assigned_method": m, "has_email": false, "has_phone": false}})
		not d.allow
		"no contact address for delivery" in d.reasons
	}
}

test_phone_alone_is_a_contact_address if {
	d := decide({"subject": {"assigned_method": "pin", "has_email": false, "has_phone": true}})
	d.allow
}

# --- lock-out --------------------------------------------------------------

# Failures alone no longer deny: the engine locks the guessed factor, and
# the policy sees which factors are locked.
test_failures_alone_do_not_deny if {
	d := decide({"subject": {"assigned_method": "pin"}, "history": {"recent_failures": 9}})
	d.allow
	d.method == "pin"
}

test_locked_pin_gives_way_to_a_link if {
	d := decide({"subject": {"assigned_method": "pin"}, "history": {"recent_failures": 5, "locked_factors": ["pin"]}})
	d.allow
	d.method == "passwordless"
	"pin is locked after too many wrong codes: a link is sent instead" in d.reasons
}

test_locked_pin_without_links_on_the_system_is_denied if {
	d := decide({
		"subject": {"assigned_method": "pin"},
		"system": {"methods": ["pin"]},
		"history": {"locked_factors": ["pin"]},
	})
	not d.allow
	"pin is locked after too many wrong codes" in d.reasons
}

test_locked_totp_leaves_recovery_codes if {
	d := decide({"subject": {"assigned_method": "totp", "totp_enrolled": true}, "history": {"locked_factors": ["totp"]}})
	d.allow
	d.method == "totp"
	"totp is locked after too many wrong codes: only a recovery code is accepted" in d.reasons
}

test_locked_totp_and_recovery_codes_deny if {
	d := decide({
		"subject": {"assigned_method": "totp", "totp_enrolled": true},
		"history": {"locked_factors": ["totp", "recovery"]},
	})
	not d.allow
	"totp and recovery codes are locked after too many wrong codes" in d.reasons
}

# Locking TOTP must not undo a step-up: the user is asked for TOTP (or a
# recovery code) still, never handed back the weaker assigned method.
test_locked_totp_does_not_undo_a_step_up if {
	d := decide(object.union(high_new_ip_enrolled, {
		"subject": {"assigned_method": "pin"},
		"history": {"locked_factors": ["totp"]},
	}))
	d.allow
	d.method == "totp"
}

test_locked_sso_is_denied if {
	d := decide({"subject": {"assigned_method": "sso"}, "history": {"locked_factors": ["sso"]}})
	not d.allow
	"single sign-on is locked after too many refusals" in d.reasons
}

test_a_locked_factor_the_attempt_does_not_use_changes_nothing if {
	d := decide({"subject": {"assigned_method": "passwordless"}, "history": {"locked_factors": ["pin", "totp"]}})
	d.allow
	d.method == "passwordless"
}

test_every_denial_is_listed if {
	d := decide({
		"subject": {"assigned_method": "pin", "has_email": false},
		"system": {"methods": ["pin"]},
		"history": {"locked_factors": ["pin"]},
	})
	not d.allow
	"no contact address for delivery" in d.reasons
	"pin is locked after too many wrong codes" in d.reasons
}

# --- ttl -------------------------------------------------------------------

test_ttl if {
	cases := [
		# [sensitivity, system ttl, failures, method, want]
		["low", 0, 0, "passwordless", 300],
		["low", -5, 0, "passwordless", 300],
		["low", 450, 0, "passwordless", 450],
		["medium", 900, 0, "passwordless", 300],
		["medium", 200, 0, "passwordless", 200],
		["high", 0, 0, "passwordless", 120],
		["high", 90, 0, "passwordless", 90],
		["low", 300, 1, "passwordless", 150],
		["low", 301, 1, "passwordless", 150],
		["medium", 0, 2, "passwordless", 150],
		["high", 0, 1, "passwordless", 60],
		["low", 100, 1, "passwordless", 60],
		["low", 45, 1, "passwordless", 45],
		["low", 1800, 0, "passwordless", 600],
		["low", 1800, 0, "pin", 600],
		["low", 1800, 0, "totp", 1800],
	]
	every c in cases {
		d := decide({
			"subject": {"assigned_method": c[3], "totp_enrolled": true},
			"system": {"sensitivity": c[0], "ttl_seconds": c[1]},
			"history": {"recent_failures": c[2]},
		})
		d.allow
		d.ttl_seconds == c[4]
	}
}

# --- max attempts ----------------------------------------------------------

test_max_attempts_by_sensitivity if {
	decide({"system": {"sensitivity": "low"}}).max_attempts == 5
	decide({"system": {"sensitivity": "medium"}}).max_attempts == 5
	decide({"system": {"sensitivity": "high"}}).max_attempts == 3
}

# --- risk and reasons --------------------------------------------------------

test_risk if {
	cases := [
		# [sensitivity, new ip, failures, want]
		["low", false, 0, "low"],
		["low", true, 0, "medium"],
		["low", false, 1, "medium"],
		["medium", false, 0, "medium"],
		["medium", true, 2, "medium"],
		["high", false, 0, "medium"],
		["high", true, 0, "high"],
		["high", false, 1, "high"],
	]
	every c in cases {
		d := decide({"system": {"sensitivity": c[0]}, "history": {"new_ip": c[1], "recent_failures": c[2]}})
		d.risk == c[3]
	}
}

test_reasons_list_every_signal_in_order if {
	d := decide({
		"system": {"sensitivity": "medium"},
		"request": {"ip": "203.0.113.9"},
		"history": {"new_ip": true, "recent_failures": 2},
	})
	d.reasons == ["sensitivity medium", "new IP 203.0.113.9", "2 recent failures"]
}

test_reasons_put_signals_then_outcome_then_denials if {
	d := decide({
		"subject": {"assigned_method": "totp"},
		"system": {"sensitivity": "high"},
		"history": {"recent_failures": 3},
	})
	d.reasons == [
		"sensitivity high",
		"known IP 198.51.100.7",
		"3 recent failures",
		"totp not enrolled",
	]
}

test_unset_sensitivity_is_medium if {
	d := decide({"system": {"sensitivity": ""}})
	d.risk == "medium"
	d.max_attempts == 5
	d.reasons[0] == `sensitivity medium (configured "")`
}

test_unknown_sensitivity_is_high if {
	d := decide({"system": {"sensitivity": "secret"}})
	d.max_attempts == 3
	d.ttl_seconds == 120
	d.reasons[0] == `sensitivity high (configured "secret")`
}

test_decision_is_complete_even_when_denied if {
	d := decide({"subject": {"assigned_method": "carrier pigeon"}})
	object.keys(d) == {"allow", "method", "ttl_seconds", "max_attempts", "reasons", "risk", "channel"}
	not d.allow
}

# --- channel ---------------------------------------------------------------

test_links_go_by_email if {
	decide({"subject": {"has_phone": true}}).channel == "email"
}

test_high_sensitivity_pin_goes_by_sms_when_there_is_a_phone if {
	decide({"subject": {"assigned_method": "pin", "has_phone": true}, "system": {"sensitivity": "high"}}).channel == "sms"
}

test_high_sensitivity_pin_without_a_phone_goes_by_email if {
	decide({"subject": {"assigned_method": "pin"}, "system": {"sensitivity": "high"}}).channel == "email"
}

test_pin_without_email_goes_by_sms if {
	decide({"subject": {"assigned_method": "pin", "has_email": false, "has_phone": true}}).channel == "sms"
}

test_totp_delivers_nothing if {
	decide({"subject": {"assigned_method": "totp", "totp_enrolled": true}}).channel == ""
}

# --- email delivery off for the account ------------------------------------

# flexauth sends the setting under its name and, for policies written before
# the rename, under email_login with the same value.
email_off := {"account": {"email_delivery": false, "email_login": false}}

test_email_delivery_off_sends_every_delivered_method_by_sms if {
	every m in ["passwordless", "pin", "sso"] {
		d := decide(object.union(email_off, {"subject": {"assigned_method": m, "has_phone": true}}))
		d.allow
		d.method == m
		d.channel == "sms"
		"email delivery is off for the account: sent by sms" in d.reasons
	}
}

test_email_delivery_off_denies_users_without_a_phone if {
	every m in ["passwordless", "pin", "sso"] {
		d := decide(object.union(email_off, {"subject": {"assigned_method": m}}))
		not d.allow
		d.channel == ""
		"email delivery is off for the account" in d.reasons
	}
}

test_email_delivery_off_leaves_totp_alone if {
	d := decide(object.union(email_off, {"subject": {"assigned_method": "totp", "totp_enrolled": true}}))
	d.allow
	d.method == "totp"
	d.channel == ""
	not "email delivery is off for the account" in d.reasons
}

test_email_delivery_off_allows_a_step_up_to_totp_without_a_phone if {
	d := decide(object.union(email_off, high_new_ip_enrolled))
	d.allow
	d.method == "totp"
	d.channel == ""
}

test_email_delivery_on_or_unset_keeps_email if {
	decide({"account": {"email_delivery": true}}).channel == "email"
	d := risk.decision with input as object.remove(base, {"account"})
	d.allow
	d.channel == "email"
}

test_the_built_in_policy_reads_the_new_name if {
	# The deprecated name alone changes nothing here; email_delivery decides.
	decide({"account": {"email_delivery": true, "email_login": false}}).channel == "email"
	decide({"account": {"email_delivery": false, "email_login": true}, "subject": {"has_phone": true}}).channel == "sms"
}

# --- single sign-on ---------------------------------------------------------

test_sso_link_goes_by_email_with_a_capped_life if {
	d := decide({"subject": {"assigned_method": "sso", "has_phone": true}, "system": {"ttl_seconds": 3600}})
	d.allow
	d.method == "sso"
	d.channel == "email"
	d.ttl_seconds == 600
}

test_sso_is_not_stepped_up if {
	d := decide(object.union(high_new_ip_enrolled, {"subject": {"assigned_method": "sso"}}))
	d.allow
	d.method == "sso"
	"no step-up: single sign-on applies the provider's own checks" in d.reasons
}

test_sso_needs_an_address_for_its_link if {
	d := decide({"subject": {"assigned_method": "sso", "has_email": false}})
	not d.allow
	"no contact address for delivery" in d.reasons
}

# --- password ----------------------------------------------------------------

password_user := {
	"subject": {"assigned_method": "password", "password_login": true, "has_password": true, "totp_enrolled": true},
	"system": {"methods": ["passwordless", "password"]},
}

test_password_is_allowed_and_delivers_nothing if {
	d := decide(password_user)
	d.allow
	d.method == "password"
	d.channel == ""
}

test_password_is_never_stepped_up if {
	d := decide(object.union(password_user, {"system": {"sensitivity": "high", "methods": ["password", "totp"]}, "history": {"new_ip": true}}))
	d.allow
	d.method == "password"
	"no step-up: a password sign-in always takes a totp code" in d.reasons
}

test_password_needs_the_switches if {
	d := decide(object.union(password_user, {"subject": {"password_login": false}}))
	not d.allow
	"email and password sign-in is off for the user" in d.reasons
}

test_password_needs_a_password if {
	d := decide(object.union(password_user, {"subject": {"has_password": false}}))
	not d.allow
	"no password set" in d.reasons
}

test_locked_password_is_denied if {
	d := decide(object.union(password_user, {"history": {"locked_factors": ["password"]}}))
	not d.allow
	"password is locked after too many wrong passwords" in d.reasons
}

test_password_with_every_second_factor_locked_is_denied if {
	d := decide(object.union(password_user, {"history": {"locked_factors": ["totp", "recovery"]}}))
	not d.allow
	"totp and recovery codes are locked after too many wrong codes" in d.reasons
}

test_password_with_totp_locked_still_takes_a_recovery_code if {
	decide(object.union(password_user, {"history": {"locked_factors": ["totp"]}})).allow
}

test_password_enrolment_gets_time if {
	decide(object.union(password_user, {"subject": {"totp_enrolled": false}, "system": {"sensitivity": "high"}})).ttl_seconds == 900
	decide(object.union(password_user, {"system": {"sensitivity": "high"}})).ttl_seconds == 120
}
