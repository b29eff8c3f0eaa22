// Package nyud2 reads NYU Depth V2 for RGB-D scene classification: the official labeled .mat (MATLAB v7.3,
// i.e. HDF5, through libhdf5) with splits.mat (MATLAB v5, pure Go), the 27 → 10 scene mapping, a compact
// prepared cache that training loads whole onto the device, and the TMC/TRecgNet side-by-side folders.
package nyud2

import (
	"fmt"
	"sort"
)

// GuptaClasses are the 10 scene classes in Gupta et al.'s order (sceneMapping10.mat), the default ids.
var GuptaClasses = []string{"bedroom", "kitchen", "living_room", "bathroom", "dining_room", "office", "home_office",
	"classroom", "bookstore", "others"}

// sceneTo10 maps each of NYU's 27 scene types to its class; types not listed are "others" only if they are
// among the 27 (unknown names are errors).
var sceneTo10 = map[string]string{
	"bedroom": "bedroom", "kitchen": "kitchen", "living_room": "living_room", "bathroom": "bathroom",
	"dining_room": "dining_room", "office": "office", "home_office": "home_office", "classroom": "classroom",
	"bookstore": "bookstore",
	"basement":  "others", "cafe": "others", "computer_lab": "others", "conference_room": "others", "dinette": "others",
	"excercise_room": "others", "foyer": "others", "furniture_store": "others", "home_storage": "others",
	"indoor_balcony": "others", "laundry_room": "others", "office_kitchen": "others", "playroom": "others",
	"printer_room": "others", "reception_room": "others", "student_lounge": "others", "study": "others",
	"study_room": "others",
}

// ClassOrder numbers the 10 classes.
type ClassOrder string

// Orders.
const (
	Gupta        ClassOrder = "gupta"        // bedroom=0 … others=9 (Gupta et al., the paper's protocol)
	Alphabetical ClassOrder = "alphabetical" // bathroom=0 … others=9 (TMC's ImageFolder ids)
)

// Classes returns the class names in the given order.
func Classes(o ClassOrder) ([]string, error) {
	switch o {
	case Gupta, "":
		return append([]string(nil), GuptaClasses...), nil
	case Alphabetical:
		c := append([]string(nil), GuptaClasses...)
		sort.Strings(c)
		return c, nil
	}
	return nil, fmt.Errorf("class order %q: want gupta or alphabetical", o)
}

// ClassIDs maps per-image scene types (27 names) to class ids in the given order.
func ClassIDs(sceneTypes []string, o ClassOrder) ([]int64, error) {
	names, err := Classes(o)
	if err != nil {
		return nil, err
	}
	id := map[string]int64{}
	for i, n := range names {
		id[n] = int64(i)
	}
	out := make([]int64, len(sceneTypes))
	for i, s := range sceneTypes {
		c, ok := sceneTo10[s]
		if !ok {
			return nil, fmt.Errorf("image %d: unknown scene type %q (not one of NYU's 27)", i+1, s)
		}
		out[i] = id[c]
	}
	return out, nil
}
