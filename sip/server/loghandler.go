package server

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
)

// maxLogValue bounds each attribute value sipgo logs: its parse failures
// carry the whole offending data (up to 32 KB at ERROR, issue 11), which a
// hostile peer can repeat at will.
const maxLogValue = 160

// shortLogHandler makes every record sipgo logs one short line: string
// values (and errors) are cut to maxLogValue with their full length noted,
// line breaks shown as \n.
type shortLogHandler struct{ next slog.Handler }

func (h shortLogHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h shortLogHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, shortValue(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(shortAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h shortLogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	short := make([]slog.Attr, len(as))
	for i, a := range as {
		short[i] = shortAttr(a)
	}
	return shortLogHandler{h.next.WithAttrs(short)}
}

func (h shortLogHandler) WithGroup(name string) slog.Handler {
	return shortLogHandler{h.next.WithGroup(name)}
}

func shortAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, shortValue(v.String()))
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, shortValue(err.Error()))
		}
		if st, ok := v.Any().(interface{ String() string }); ok {
			return slog.String(a.Key, shortValue(st.String()))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

func shortValue(s string) string {
	cut := len(s) > maxLogValue
	if cut {
		s = s[:maxLogValue]
	}
	if strings.ContainsAny(s, "\r\n") {
		s = strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(s)
	}
	if cut {
		s = strings.ToValidUTF8(s, "") + "…(" + strconv.Itoa(len(s)) + "+ bytes)"
	}
	return s
}
