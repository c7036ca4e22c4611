package demo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/sipbuddy/sipbuddy/assets"
	"github.com/sipbuddy/sipbuddy/xcap"
)

// ErrReservedUser is returned by Visitors.Account for the name of a
// simulated buddy: a visitor must not take its account over.
var ErrReservedUser = errors.New("the name of a simulated buddy")

// Visitors hands out demo accounts to visitors who arrive by name (the SSH
// front end): a user is created on first use, with every simulated buddy in
// its list and the demo user's icon, and keeps its account (and password)
// while the world runs, so that two sessions of one user share it.
type Visitors struct {
	w        *World
	mu       sync.Mutex
	accounts map[string]Account
}

// NewVisitors returns the visitors' account book of w.
func NewVisitors(w *World) *Visitors {
	return &Visitors{w: w, accounts: map[string]Account{}}
}

// Account returns user's account, creating it on first use. The display
// name is the user name with a capital initial ("carol" → "Carol").
func (v *Visitors) Account(ctx context.Context, user string) (Account, error) {
	if user == "" {
		return Account{}, errors.New("demo: empty user name")
	}
	for _, b := range assets.Buddies() {
		if b.User == user {
			return Account{}, fmt.Errorf("demo: %q is %w", user, ErrReservedUser)
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if a, ok := v.accounts[user]; ok {
		return a, nil
	}
	a, err := v.w.AddUser(ctx, user, strings.ToUpper(user[:1])+user[1:])
	if err != nil {
		return Account{}, err
	}
	c, err := xcap.NewClient(xcap.ClientOptions{Root: a.XCAPRoot, XUI: a.AOR, Password: a.Password, TLS: a.TLS})
	if err != nil {
		return Account{}, fmt.Errorf("demo: %w", err)
	}
	if _, _, err := c.PutIcon(ctx, assets.DemoUserIcon(), xcap.BlinkIconName); err != nil {
		return Account{}, fmt.Errorf("demo: icon of %s: %w", user, err)
	}
	v.accounts[user] = a
	return a, nil
}
