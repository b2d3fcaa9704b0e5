// Package sftest builds Salesforce clients that act as a person of the emulator's org, for
// tests and the bench: the integration recognises its own writes by LastModifiedById, so a
// change meant to stand for a person's must be made as someone else.
package sftest

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"

	"github.com/prospect-sync/prospect-sync/emulator"
	"github.com/prospect-sync/prospect-sync/salesforce"
)

// Person is a client of the emulator at url acting as Alice (emulator.UserAliceID) through
// the JWT bearer flow; the emulator checks an assertion's claims, not its signature, so a
// fresh key signs it.
func Person(url string) (*salesforce.Client, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("sftest: key: %w", err)
	}
	return salesforce.New(salesforce.Config{LoginURL: url, ClientID: emulator.ClientID,
		Username: emulator.UserAliceUsername, PrivateKey: key})
}
