package vcpu

// Parse recognises a vCPU thread's comm, "CPU n/TCG" or "CPU n/KVM" (n a
// decimal number without sign), and returns n and the accelerator.
func Parse(comm string) (index int, accel string, ok bool) {
	const prefix = "CPU "
	if len(comm) < len(prefix)+5 || comm[:len(prefix)] != prefix {
		return 0, "", false
	}
	s := comm[len(prefix):]
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		if index > (1<<31)/10 {
			return 0, "", false
		}
		index = index*10 + int(s[i]-'0')
		i++
	}
	if i == 0 || s[i:] != "/TCG" && s[i:] != "/KVM" {
		return 0, "", false
	}
	return index, s[i+1:], true
}
