package resourcelists

import (
	"errors"
	"reflect"
	"testing"
)

func TestSetPresencePolicyWithoutAddressbook(t *testing.T) {
	d := New()
	if err := d.SetPresencePolicy("sip:bob@example.test", PolicyBlock); err != nil {
		t.Fatal(err)
	}
	if err := d.SetPresencePolicy("sip:ann@example.test", PolicyAllow); err != nil {
		t.Fatal(err)
	}
	if err := d.SetPresencePolicy("SIP:Bob@example.test", PolicyAllow); err != nil {
		t.Fatal(err)
	}
	granted, _ := d.ListURIs(OMAGrantedContacts)
	blocked, ok := d.ListURIs(OMABlockedContacts)
	if !reflect.DeepEqual(granted, []string{"sip:ann@example.test", "SIP:Bob@example.test"}) || !ok || len(blocked) != 0 {
		t.Errorf("granted %v, blocked %v", granted, blocked)
	}
	if err := d.SetPresencePolicy("sip:ann@example.test", PolicyDefault); err != nil {
		t.Fatal(err)
	}
	if granted, _ := d.ListURIs(OMAGrantedContacts); len(granted) != 1 {
		t.Errorf("granted after default: %v", granted)
	}
	if len(d.Groups()) != 0 {
		t.Errorf("the grant lists became groups: %+v", d.Groups())
	}
	if _, ok := d.ListURIs("nowhere"); ok {
		t.Error("missing list found")
	}
	for _, bad := range [][2]string{{"sip:a@b", "maybe"}, {"nonsense", PolicyAllow}} {
		if err := d.SetPresencePolicy(bad[0], bad[1]); !errors.Is(err, ErrInvalid) {
			t.Errorf("SetPresencePolicy%v: %v", bad, err)
		}
	}
}

func TestSetPresencePolicyFollowsPythonSipsimple(t *testing.T) {
	d := mustParse(t, blinkIndex(t))
	// Bob is a contact: his presence policy decides, not a policy element.
	if err := d.SetPresencePolicy("sip:bob@example.test", PolicyBlock); err != nil {
		t.Fatal(err)
	}
	ab, _ := d.Addressbook()
	if ab.Contacts[0].Presence.Policy != PolicyBlock || len(ab.Policies) != 1 {
		t.Errorf("addressbook %+v", ab)
	}
	granted, _ := d.ListURIs(OMAGrantedContacts)
	blocked, _ := d.ListURIs(OMABlockedContacts)
	if len(granted) != 0 || !reflect.DeepEqual(blocked, []string{"sip:mallory@example.test", "sip:bob@example.test"}) {
		t.Errorf("granted %v blocked %v", granted, blocked)
	}
	out, _ := d.Marshal()
	checkBlinkReadable(t, out)
}
