package sipuri_test

import (
	"fmt"

	"github.com/sipbuddy/sipbuddy/internal/sipuri"
)

func Example() {
	a, _ := sipuri.Parse("sip:%61lice@atlanta.com;transport=TCP")
	b, _ := sipuri.Parse("sip:alice@AtLanTa.CoM;Transport=tcp")
	fmt.Println(sipuri.Equal(a, b), a)

	key, _ := sipuri.AORKey("SIPS:Ada@Example.Test;transport=tls")
	fmt.Println(key)

	_, err := sipuri.AORKey("ada at example.test")
	fmt.Println(err)
	// Output:
	// true sip:alice@atlanta.com;transport=TCP
	// sip:ada@example.test
	// not a SIP address: "sip:ada at example.test": character ' ' is not allowed in the domain "ada at example.test"
}
