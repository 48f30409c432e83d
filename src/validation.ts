// What pkg/models would refuse, said before the query runs or the settings are saved.
import { FleetQuery, NumericOption, OPTION_RANGES, QueryOption } from './types';

/** Problems the backend would reject the query for, by option, in words a user can act on. */
export function validateQuery(query: FleetQuery): Partial<Record<QueryOption, string>> {
  const errors: Partial<Record<QueryOption, string>> = {};
  for (const option of Object.keys(OPTION_RANGES) as NumericOption[]) {
    const { min, max, unit } = OPTION_RANGES[option];
    const message = rangeError(query[option], min, max, unit);
    if (message) {
      errors[option] = message;
    }
  }
  const regex = regexError(query.modelRegex);
  if (regex) {
    errors.modelRegex = regex;
  }
  return errors;
}

export function rangeError(value: number | undefined, min: number, max: number, unit: string): string | undefined {
  if (value === undefined || (Number.isFinite(value) && value >= min && value <= max)) {
    return undefined;
  }
  return `Must be a number from ${min} to ${max} (${unit}).`;
}

// A dashboard variable ($name, ${name}, [[name]]) is expanded before the backend compiles the pattern.
const VARIABLE = /\$\w|\$\{|\[\[/;

/** Why Go's regexp (RE2) would refuse the pattern, checked with JavaScript's engine where the two agree. */
export function regexError(pattern?: string): string | undefined {
  if (!pattern || VARIABLE.test(pattern)) {
    return undefined;
  }
  // RE2 has no lookaround or backreferences.
  if (/\(\?(=|!|<=|<!)|\\[1-9]/.test(pattern)) {
    return 'Lookarounds and backreferences are not supported (Go RE2 syntax).';
  }
  try {
    new RegExp(`^(?:${asJavaScriptRegex(pattern)})$`);
  } catch (e) {
    return `Not a valid regular expression: ${(e as Error).message}`;
  }
  return undefined;
}

// RE2 syntax JavaScript lacks: inline flags ((?i), (?i:...)) and Python-style named groups.
function asJavaScriptRegex(re2: string): string {
  return re2
    .replace(/\(\?[imsU-]+\)/g, '')
    .replace(/\(\?[imsU-]+:/g, '(?:')
    .replace(/\(\?P</g, '(?<');
}

export function metricNameError(name?: string): string | undefined {
  return !name || /^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name) ? undefined : `"${name}" is not a Prometheus metric name.`;
}

export function labelNameError(name?: string): string | undefined {
  return !name || /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name) ? undefined : `"${name}" is not a Prometheus label name.`;
}

// Go's time.ParseDuration units that make sense for a scrape interval.
const DURATION = /^(\d+(\.\d+)?(ms|s|m|h))+$/;
const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };

/** The scrape interval must be a Go duration between 1s and 1h. */
export function scrapeIntervalError(interval?: string): string | undefined {
  if (!interval) {
    return undefined;
  }
  if (!DURATION.test(interval)) {
    return `"${interval}" is not a duration such as 30s, 1m or 1m30s.`;
  }
  let seconds = 0;
  for (const [, amount, , unit] of interval.matchAll(/(\d+(\.\d+)?)(ms|s|m|h)/g)) {
    seconds += Number(amount) * UNIT_SECONDS[unit];
  }
  return seconds >= 1 && seconds <= 3600 ? undefined : 'Must be between 1s and 1h.';
}
