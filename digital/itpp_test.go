package digital

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// itppDecoder is a small C++ program against IT++ (GPL; compiled only here, never linked into semcom):
// it reads the alist file, then blocks of N channel LLRs (one per line), decodes each with IT++'s
// sum-product bp_decode (50 iterations, syndrome check each iteration) and prints "N M" and per block the
// signed iteration count and the hard decision.
const itppDecoder = `#include <itpp/itcomm.h>
#include <fstream>
#include <iostream>
using namespace itpp;
int main(int argc, char** argv) {
  LDPC_Parity H(argv[1], "alist");
  LDPC_Code code(&H, 0, false);
  code.set_exit_conditions(50, true, true);
  std::cout << H.get_nvar() << " " << H.get_ncheck() << "\n";
  int n = H.get_nvar(), blocks = atoi(argv[3]);
  std::ifstream in(argv[2]);
  LLR_calc_unit lc;
  for (int b = 0; b < blocks; b++) {
    vec llr(n);
    for (int i = 0; i < n; i++) in >> llr(i);
    QLLRvec out;
    int it = code.bp_decode(lc.to_qllr(llr), out);
    std::cout << it << " ";
    for (int i = 0; i < n; i++) std::cout << (out(i) < 0 ? '1' : '0');
    std::cout << "\n";
  }
}
`

// The 802.11n R = 1/2 alist decoded by IT++ and by semcom's sum-product decoder on the same channel LLRs
// (Eb/N0 = 1.25 dB, in the waterfall): IT++ reads the same N and M, the two decoders succeed on nearly the
// same blocks (IT++ uses quantised LLRs and a table boxplus, so a block or two may differ), and where
// both reach a codeword it is the same word.
func TestDecoderAgreesWithITpp(t *testing.T) {
	if _, err := os.Stat("/usr/include/itpp/comm/ldpc.h"); err != nil {
		t.Skip("IT++ headers absent (Debian libitpp-dev, installed by make deps-test): no independent decoder to compare with")
	}
	gxx, err := exec.LookPath("g++")
	if err != nil {
		t.Skip("g++ absent: cannot compile the IT++ test program")
	}
	dir := t.TempDir()
	src, bin := filepath.Join(dir, "dec.cc"), filepath.Join(dir, "dec")
	_ = os.WriteFile(src, []byte(itppDecoder), 0o644)
	if out, err := exec.Command(gxx, "-O1", "-o", bin, src, "-litpp").CombinedOutput(); err != nil {
		t.Fatalf("compiling the IT++ program: %v\n%s", err, out)
	}
	c := mustCode(t, "wifi_n648_r12")
	const blocks = 30
	r := rand.New(rand.NewPCG(21, 648))
	_, cw := randomCodewords(r, c, blocks)
	llr := make([]float64, len(cw))
	bpskLLR(r, cw, ebN0ToEsN0(1.25, c.Rate()), llr)
	var sb strings.Builder
	for _, l := range llr {
		sb.WriteString(strconv.FormatFloat(l, 'g', 17, 64))
		sb.WriteByte('\n')
	}
	llrPath := filepath.Join(dir, "llr.txt")
	_ = os.WriteFile(llrPath, []byte(sb.String()), 0o644)
	out, err := exec.Command(bin, filepath.Join("codes", "wifi_n648_r12.alist"), llrPath, strconv.Itoa(blocks)).Output()
	if err != nil {
		t.Fatalf("IT++ program: %v", err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	sc.Scan()
	if got := sc.Text(); got != fmt.Sprintf("%d %d", c.N, c.M) {
		t.Fatalf("IT++ read N M = %q, semcom %d %d", got, c.N, c.M)
	}
	d, _ := NewDecoder(c, SumProduct, 50, 0)
	ours := make([]uint8, len(cw))
	_, _, _ = d.Decode(llr, ours)
	disagree, bothOK, oursOK, itppOK := 0, 0, 0, 0
	for b := 0; sc.Scan(); b++ {
		f := strings.Fields(sc.Text())
		it, _ := strconv.Atoi(f[0])
		theirs := f[1]
		ourWord := ours[b*c.N : (b+1)*c.N]
		okOurs, okTheirs := c.SyndromeZero(ourWord), it > 0
		if okOurs {
			oursOK++
		}
		if okTheirs {
			itppOK++
		}
		if okOurs != okTheirs {
			disagree++
		}
		if okOurs && okTheirs {
			bothOK++
			for i, ch := range theirs {
				if uint8(ch-'0') != ourWord[i] {
					t.Fatalf("block %d: both decoders converged but to different words (bit %d)", b, i)
				}
			}
		}
	}
	t.Logf("Eb/N0 1.25 dB, %d blocks: semcom converged %d, IT++ %d, both %d, disagree %d", blocks, oursOK, itppOK, bothOK, disagree)
	if disagree > 3 {
		t.Errorf("semcom and IT++ disagree on convergence in %d of %d blocks, expected ≤ 3", disagree, blocks)
	}
	if bothOK == 0 || bothOK == blocks {
		t.Errorf("both converged on %d of %d blocks: the SNR is not in the waterfall, the comparison says little", bothOK, blocks)
	}
}
