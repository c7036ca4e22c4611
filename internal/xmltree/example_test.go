package xmltree_test

import (
	"fmt"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
)

// Read a document another client wrote, find elements by namespace URI
// (whatever prefix it used), add an entry and write it back: the comment,
// the foreign element and the client's prefixes stay as they were.
func Example() {
	const nsRL = "urn:ietf:params:xml:ns:resource-lists"
	doc, err := xmltree.Parse([]byte(`<?xml version="1.0" encoding="UTF-8"?>
<rl:resource-lists xmlns:rl="urn:ietf:params:xml:ns:resource-lists" xmlns:x="urn:example:x">
  <!-- kept by another client -->
  <rl:list name="buddies">
    <rl:entry uri="sip:bob@example.test"/>
    <x:note>not ours</x:note>
  </rl:list>
</rl:resource-lists>
`), xmltree.DefaultLimits)
	if err != nil {
		fmt.Println(err)
		return
	}
	list := doc.Root.Child(nsRL, "list")
	for _, e := range list.Elements() {
		if e.Is(nsRL, "entry") {
			uri, _ := e.Attr("uri")
			fmt.Println("entry:", uri)
		}
	}
	carol := xmltree.NewElement(list, nsRL, "entry", "rl")
	carol.SetAttr("uri", "sip:carol@example.test")
	list.InsertBefore(carol, list.Child("urn:example:x", "note"))
	fmt.Print(string(doc.Bytes()))

	_, err = xmltree.Parse([]byte(`<entry uri="sip:a@x" uri="sip:b@x"/>`), xmltree.DefaultLimits)
	fmt.Println(err)
	// Output:
	// entry: sip:bob@example.test
	// <?xml version="1.0" encoding="UTF-8"?>
	// <rl:resource-lists xmlns:rl="urn:ietf:params:xml:ns:resource-lists" xmlns:x="urn:example:x">
	//   <!-- kept by another client -->
	//   <rl:list name="buddies">
	//     <rl:entry uri="sip:bob@example.test"/>
	//     <rl:entry uri="sip:carol@example.test"/>
	//     <x:note>not ours</x:note>
	//   </rl:list>
	// </rl:resource-lists>
	// XML is not well-formed: line 1: <entry> has the attribute uri twice
}
