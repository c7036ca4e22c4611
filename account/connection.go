package account

// RetryNow makes the account try the server again at once: registration
// first (its back-off reset), then the publication and every subscription.
// It is the person's "retry now".
func (a *Account) RetryNow() { a.ua.RetryNow() }

// SetPassword replaces the account's password for SIP and XCAP (after an
// authentication failure, when the person typed it again or the password
// command was run again) and registers again at once.
func (a *Account) SetPassword(password string) {
	a.xc.SetPassword(password)
	a.ua.SetPassword(password)
}
