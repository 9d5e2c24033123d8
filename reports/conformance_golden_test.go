package reports

import (
	"bytes"
	"testing"
)

func TestConformanceGolden(t *testing.T) {
	doc, old := sampleDoc(), sampleOldDoc()
	second := sampleDoc()
	second.Targets = second.Targets[1:]
	second.Results = second.Results[13:]
	tests := []struct {
		name  string
		write func(*bytes.Buffer) error
		post  func([]byte) []byte
	}{
		{"conformance/report.json", func(b *bytes.Buffer) error { return WriteConformanceJSON(b, doc) }, nil},
		{"conformance/summary.md", func(b *bytes.Buffer) error { return WriteConformanceMarkdown(b, doc) }, nil},
		{"conformance/summary-pass.md", func(b *bytes.Buffer) error { return WriteConformanceMarkdown(b, passingDoc()) }, nil},
		{"conformance/report.html", func(b *bytes.Buffer) error { return WriteConformanceHTML(b, doc) }, htmlStructure},
		{"conformance/matrix.md", func(b *bytes.Buffer) error { return WriteMatrixMarkdown(b, old, doc) }, nil},
		{"conformance/matrix.html", func(b *bytes.Buffer) error { return WriteMatrixHTML(b, old, doc) }, htmlStructure},
		{"conformance/diff.txt", func(b *bytes.Buffer) error { return WriteDiffText(b, Diff(old, doc)) }, nil},
		{"conformance/diff-renamed.txt", func(b *bytes.Buffer) error { return WriteDiffText(b, Diff(second, renamed(second, "reference-next"))) }, nil},
		{"conformance/junit.xml", func(b *bytes.Buffer) error { return WriteConformanceJUnit(b, doc) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.write(&b); err != nil {
				t.Fatal(err)
			}
			got := b.Bytes()
			if tt.post != nil {
				got = tt.post(got)
			}
			checkGolden(t, tt.name, got)
		})
	}
}

// passingDoc is sampleDoc with mosquitto alone.
func passingDoc() ConformanceDoc {
	d := sampleDoc()
	d.Targets = d.Targets[:1]
	var rs []Result
	for _, r := range d.Results {
		if r.Target == "mosquitto" {
			rs = append(rs, r)
		}
	}
	d.Results = rs
	return d
}

// renamed returns doc with its single target renamed and one result
// changed, as two releases of one broker compared.
func renamed(doc ConformanceDoc, name string) ConformanceDoc {
	old := doc.Targets[0].Name
	d := doc
	d.Targets = []Target{doc.Targets[0]}
	d.Targets[0].Name = name
	d.Results = nil
	for _, r := range doc.Results {
		if r.Target == old {
			r.Target = name
		}
		if r.Spec == "MQTT-3.1.0-2 closes the connection on a second CONNECT" {
			r = pass(name, r.Area, r.Spec, 400113, r.Statements...)
		}
		d.Results = append(d.Results, r)
	}
	return d
}
