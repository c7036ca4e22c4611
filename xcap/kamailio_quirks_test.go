package xcap

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// kamailioDeleteServer answers like Kamailio 5.6's xcap_server
// (shared/peers/README.md): 404 to a GET of a missing document, 500 to a
// DELETE of one, 200 without ETag to a DELETE of an existing one, and 404 for
// the oma_status-icon AUID it does not serve. existing is the one document
// path that exists.
func kamailioDeleteServer(t *testing.T, existing string) *recorder {
	return newRecorder(t, "example.test", func(w http.ResponseWriter, r *http.Request, body []byte) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/xcap-caps/global/index"):
			w.Header().Set("Content-Type", CapsMIMEType)
			w.Write([]byte(`<xcap-caps xmlns="urn:ietf:params:xml:ns:xcap-caps"><auids><auid>xcap-caps</auid><auid>org.openmobilealliance.pres-content</auid></auids><namespaces/></xcap-caps>`))
		case strings.HasPrefix(r.URL.Path, "/xcap-root/"+AUIDLegacyIcon+"/"):
			w.WriteHeader(http.StatusNotFound)
		case r.URL.Path == existing && r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusOK)
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusInternalServerError)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	})
}

func TestDeleteMissingIconOnKamailioIsNotFound(t *testing.T) {
	rec := kamailioDeleteServer(t, "/xcap-root/org.openmobilealliance.pres-content/users/sip:alice@example.test/oma_status-icon/here.png")
	c := rec.client(t, "secret")
	_, err := c.DeleteIcon(context.Background(), "gone.png")
	if !IsNotFound(err) || !strings.Contains(err.Error(), "no such document") {
		t.Fatalf("DELETE of a missing icon: %v, want a 404 saying there is no such document", err)
	}
	resp, err := c.DeleteIcon(context.Background(), "here.png")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE of an existing icon: %+v %v", resp, err)
	}
}

// A 500 to a DELETE of a document that does exist is a real server error:
// it is reported as such, not as "not found".
func TestDeleteIconServerErrorStays500(t *testing.T) {
	rec := newRecorder(t, "example.test", func(w http.ResponseWriter, r *http.Request, body []byte) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/xcap-caps/global/index"):
			w.WriteHeader(http.StatusNotImplemented)
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusInternalServerError)
		default:
			w.Header().Set("Content-Type", "application/vnd.oma.pres-content+xml")
			w.Write([]byte("<content/>"))
		}
	})
	_, err := rec.client(t, "secret").DeleteIcon(context.Background(), "index")
	if StatusCodeOf(err) != http.StatusInternalServerError {
		t.Fatalf("got %v, want the 500", err)
	}
}
