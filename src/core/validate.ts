// Config checks shared by every mode: one-line RangeErrors that name the bad setting.

export function requireCount(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(`config.${name} must be an integer in 1..${max}, got ${value}`);
  }
}

export function requirePositive(name: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`config.${name} must be positive, got ${value}`);
}
