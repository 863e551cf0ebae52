package reframe

import (
	_ "embed"
	"fmt"
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
	p, err := faceClassifier()
	if err != nil {
		return nil, err
	}
	minSize := max(20, min(w, h)/20)
	params := pigo.CascadeParams{
		MinSize:     minSize,
		MaxSize:     min(w, h),
		ShiftFactor: 0.1,
		ScaleFactor: 1.1,
		ImageParams: pigo.ImageParams{Pixels: gray, Rows: h, Cols: w, Dim: w},
	}
	dets := p.ClusterDetections(p.RunCascade(params, 0), 0.2)
	sort.Slice(dets, func(i, j int) bool { return dets[i].Q > dets[j].Q })
	var faces []Face
next:
	for _, d := range dets {
		f := Face{X: float64(d.Col), Y: float64(d.Row), Size: float64(d.Scale), Q: float64(d.Q)}
		if f.Q < minQuality {
			continue
		}
		// pigo's clustering can leave a second box, at another scale, on
		// the same face: keep the surest.
		for _, g := range faces {
			if math.Abs(f.X-g.X) < g.Size/2 && math.Abs(f.Y-g.Y) < g.Size/2 {
				continue next
			}
		}
		faces = append(faces, f)
	}
	return faces, nil
}
