package printer

// maxCommandLen bounds the length a command may declare. A garbled length
// field would otherwise make a streaming reader wait forever for data
// that never comes; beyond it the lead byte is treated as noise.
const maxCommandLen = 1 << 20

// CommandLen returns the length of the first complete command or text
// byte in b, or 0 when b is empty or ends inside a command. Unknown
// commands count as the prefix and one byte, which is what most printers
// skip. Readers of a byte stream use it to find command boundaries, for
// example to answer DLE EOT only between commands.
func CommandLen(b []byte) int {
	if len(b) == 0 {
		return 0
	}
	n := commandLen(b)
	if n > maxCommandLen || n < 1 {
		return 1
	}
	if n > len(b) {
		return 0
	}
	return n
}

// commandLen returns the length the command at b[0] needs, which may be
// larger than len(b); it returns len(b)+1 when the bytes present do not
// yet say how long the command is.
func commandLen(b []byte) int {
	more := len(b) + 1
	arg := func(i int) (int, bool) {
		if i < len(b) {
			return int(b[i]), true
		}
		return 0, false
	}
	switch b[0] {
	case DLE:
		c, ok := arg(1)
		if !ok {
			return more
		}
		switch c {
		case EOT, 0x05: // DLE EOT n, DLE ENQ n
			return 3
		case 0x14: // DLE DC4 fn ...
			fn, ok := arg(2)
			if !ok {
				return more
			}
			switch fn {
			case 7:
				return 4
			case 8:
				return 10
			default:
				return 5
			}
		}
		return 2
	case ESC:
		c, ok := arg(1)
		if !ok {
			return more
		}
		switch c {
		case '@', '2', '<', 'L', 'S', 'i', 'm', 'v':
			return 2
		case '!', 'E', 'G', '-', 'a', 't', 'd', 'J', 'e', '3', 'M', 'R', 'V', '{',
			' ', '%', '=', 'T', 'U', 'r', 'u', '?', 'K':
			return 3
		case 'c':
			return 4
		case '$', '\\':
			return 4
		case 'p':
			return 5
		case 'W':
			return 10
		case '*': // ESC * m nL nH d1...dk
			m, ok1 := arg(2)
			nl, ok2 := arg(3)
			nh, ok3 := arg(4)
			if !ok1 || !ok2 || !ok3 {
				return more
			}
			k := nl + nh<<8
			if m == 32 || m == 33 {
				k *= 3
			}
			return 5 + k
		case 'D', 'B': // NUL-terminated tab stops / beeper lists
			if c == 'B' {
				return 4
			}
			for i := 2; i < len(b); i++ {
				if b[i] == 0 {
					return i + 1
				}
			}
			return more
		}
		return 3
	case GS:
		c, ok := arg(1)
		if !ok {
			return more
		}
		switch c {
		case ':':
			return 2
		case '!', 'B', 'H', 'h', 'w', 'f', 'a', 'r', 'I', 'b', 'T', '/', 'E', 'g':
			return 3
		case 'L', 'W', 'P', '$', '\\':
			return 4
		case '^':
			return 5
		case 'V':
			m, ok := arg(2)
			if !ok {
				return more
			}
			if m >= 65 {
				return 4
			}
			return 3
		case 'v': // GS v 0 m xL xH yL yH d1...dk
			if len(b) < 8 {
				return more
			}
			return 8 + (int(b[4])|int(b[5])<<8)*(int(b[6])|int(b[7])<<8)
		case '*': // GS * x y d1...d(x·y·8)
			x, ok1 := arg(2)
			y, ok2 := arg(3)
			if !ok1 || !ok2 {
				return more
			}
			return 4 + x*y*8
		case '(', '8': // GS ( X pL pH ..., GS 8 L p1 p2 p3 p4 ...
			if c == '8' {
				if len(b) < 7 {
					return more
				}
				return 7 + (int(b[3]) | int(b[4])<<8 | int(b[5])<<16 | int(b[6])<<24)
			}
			if len(b) < 5 {
				return more
			}
			return 5 + (int(b[3]) | int(b[4])<<8)
		case 'k': // GS k m ...
			m, ok := arg(2)
			if !ok {
				return more
			}
			if m >= 65 {
				n, ok := arg(3)
				if !ok {
					return more
				}
				return 4 + n
			}
			for i := 3; i < len(b); i++ {
				if b[i] == 0 {
					return i + 1
				}
			}
			return more
		}
		return 3
	case FS:
		c, ok := arg(1)
		if !ok {
			return more
		}
		switch c {
		case '&', '.':
			return 2
		case '!', 'C', '-', 'W':
			return 3
		case 'p', 'S':
			return 4
		}
		return 2
	}
	return 1
}
