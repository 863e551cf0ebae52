package reframe

import (
	_ "embed"
	"fmt"
	"image"
	"math"
	"sort"
	"sync"

	pigo "github.com/esimov/pigo/core"
)

// facefinder is pigo's face cascade, copied unchanged from
// github.com/esimov/pigo@v1.4.6/cascade/facefinder (MIT licence); a test
// checks it still matches the module's copy.
//
//go:embed facefinder
var facefinder []byte

var (
	classifierOnce sync.Once
	classifier     *pigo.Pigo
	classifierErr  error
)

func faceClassifier() (*pigo.Pigo, error) {
	classifierOnce.Do(func() {
		classifier, classifierErr = pigo.NewPigo().Unpack(facefinder)
		if classifierErr != nil {
			classifierErr = fmt.Errorf("load face cascade: %w", classifierErr)
		}
	})
	return classifier, classifierErr
}

// Face is a detected face in sample-frame pixels.
type Face struct {
	X, Y, Size float64 // centre and side
	Q          float64 // detection confidence
}

// minQuality drops weak detections; pigo's own examples use 5.
const minQuality = 5.0

// DetectFaces finds the faces in one grayscale frame.
func DetectFaces(gray []uint8, w, h int) ([]Face, error) {
	return detectIn(gray, w, h, image.Rect(0, 0, w, h), max(20, min(w, h)/20), min(w, h))
}

// detectIn finds the faces of sides minSize to maxSize inside roi of a
// w x h grayscale frame: near a face already tracked, that is a small part
// of the work of a whole frame.
func detectIn(gray []uint8, w, h int, roi image.Rectangle, minSize, maxSize int) ([]Face, error) {
	p, err := faceClassifier()
	if err != nil {
		return nil, err
	}
	roi = roi.Intersect(image.Rect(0, 0, w, h))
	maxSize = min(maxSize, roi.Dx(), roi.Dy())
	if minSize > maxSize {
		return nil, nil
	}
	params := pigo.CascadeParams{
		MinSize:     minSize,
		MaxSize:     maxSize,
		ShiftFactor: 0.1,
		ScaleFactor: 1.1,
		// The rows and columns of the region, in the frame's memory.
		ImageParams: pigo.ImageParams{Pixels: gray[roi.Min.Y*w+roi.Min.X:], Rows: roi.Dy(), Cols: roi.Dx(), Dim: w},
	}
	var faces []Face
	for _, d := range p.ClusterDetections(p.RunCascade(params, 0), 0.2) {
		if float64(d.Q) >= minQuality {
			faces = append(faces, Face{X: float64(d.Col + roi.Min.X), Y: float64(d.Row + roi.Min.Y), Size: float64(d.Scale), Q: float64(d.Q)})
		}
	}
	return dedupe(faces), nil
}

// dedupe keeps the surest of boxes on the same face: pigo's clustering can
// leave a second box at another scale, and two searches can find one face.
func dedupe(faces []Face) []Face {
	sort.Slice(faces, func(i, j int) bool { return faces[i].Q > faces[j].Q })
	var out []Face
next:
	for _, f := range faces {
		for _, g := range out {
			if math.Abs(f.X-g.X) < g.Size/2 && math.Abs(f.Y-g.Y) < g.Size/2 {
				continue next
			}
		}
		out = append(out, f)
	}
	return out
}

// finder finds the faces of consecutive frames: near where they were in the
// frame before, which costs a fraction of a whole frame, and in the whole
// frame once a second (for newcomers) or as soon as a face is not where it
// was (it jumped, turned or left).
type finder struct {
	last []Face
	n    int
}

func (d *finder) find(gray []uint8, w, h int) ([]Face, error) {
	full := d.n%int(sampleRate) == 0 || len(d.last) == 0
	d.n++
	var faces []Face
	for _, f := range d.last {
		if full {
			break
		}
		r := int(1.5 * f.Size)
		roi := image.Rect(int(f.X)-r, int(f.Y)-r, int(f.X)+r, int(f.Y)+r)
		got, err := detectIn(gray, w, h, roi, max(20, int(0.75*f.Size)), int(1.35*f.Size)+1)
		if err != nil {
			return nil, err
		}
		if len(got) == 0 {
			full = true
		}
		faces = append(faces, got...)
	}
	if full {
		var err error
		if faces, err = DetectFaces(gray, w, h); err != nil {
			return nil, err
		}
	}
	d.last = dedupe(faces)
	return d.last, nil
}
