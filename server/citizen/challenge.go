package citizen

// powJSON is a solved proof-of-work challenge sent with a hold.
type powJSON struct {
	Challenge string `json:"challenge"`
	Solution  string `json:"solution"`
}
