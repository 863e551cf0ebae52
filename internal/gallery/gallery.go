// Package gallery writes index.html: a page to watch a job's clips with their
// titles, scores, reasons and transcripts.
package gallery

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"

	"github.com/clipmill/clipmill/internal/clipping"
)

//go:embed index.html.tmpl
var page string

var tmpl = template.Must(template.New("index").Funcs(template.FuncMap{
	"deref": func(p any) any {
		switch v := p.(type) {
		case *string:
			if v != nil {
				return *v
			}
		case *int:
			if v != nil {
				return *v
			}
		case *float64:
			if v != nil {
				return *v
			}
		}
		return ""
	},
	"clock": func(p *float64) string {
		if p == nil {
			return ""
		}
		s := int(*p)
		return fmt.Sprintf("%d:%02d", s/60, s%60)
	},
	"secs": func(p *float64) string {
		if p == nil {
			return ""
		}
		return fmt.Sprintf("%.0f s", *p)
	},
}).Parse(page))

// Write renders the page for a job whose URLs are relative to the page.
func Write(w io.Writer, job clipping.Job) error {
	return tmpl.Execute(w, job)
}
