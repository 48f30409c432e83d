import { labelNameError, metricNameError, rangeError, regexError, scrapeIntervalError, validateQuery } from './validation';

describe('validateQuery', () => {
  it.each([
    ['idleThreshold below 0', { idleThreshold: -1 }, 'idleThreshold', 'from 0 to 1000000'],
    ['kvHeadroom above 10', { kvHeadroom: 11 }, 'kvHeadroom', 'from 0 to 10'],
    ['trafficMargin above 0.95', { trafficMargin: 0.96 }, 'trafficMargin', 'from 0 to 0.95'],
    ['minHistoryHours above a leap year', { minHistoryHours: 8785 }, 'minHistoryHours', 'from 0 to 8784'],
    ['spinDownIdleShare below 0.5', { spinDownIdleShare: 0.4 }, 'spinDownIdleShare', 'from 0.5 to 1'],
    ['NaN', { idleThreshold: NaN }, 'idleThreshold', 'Must be a number'],
    ['unbalanced regex', { modelRegex: 'gpt-(oss' }, 'modelRegex', 'Not a valid regular expression'],
    ['lookahead', { modelRegex: '(?!gemma).*' }, 'modelRegex', 'not supported (Go RE2'],
  ])('%s is refused', (_, query, option, message) => {
    const errors = validateQuery({ refId: 'A', ...query });
    expect(Object.keys(errors)).toEqual([option]);
    expect(errors[option as keyof typeof errors]).toContain(message);
  });

  it.each([
    ['the bounds themselves', { idleThreshold: 0, trafficMargin: 0.95, spinDownIdleShare: 0.5, minHistoryHours: 8784 }],
    ['RE2 inline flags and named groups', { modelRegex: '(?i)GPT-(?P<size>\\d+)b' }],
    ['a variable in the regex', { modelRegex: '${model:regex}' }],
    ['no options at all', {}],
  ])('%s are accepted', (_, query) => {
    expect(validateQuery({ refId: 'A', ...query })).toEqual({});
  });
});

describe('settings checks', () => {
  it.each([
    ['30s', undefined],
    ['1m30s', undefined],
    ['1h', undefined],
    ['500ms', 'between 1s and 1h'],
    ['2h', 'between 1s and 1h'],
    ['30', 'not a duration'],
  ])('scrape interval %s', (interval, message) => {
    const error = scrapeIntervalError(interval);
    message ? expect(error).toContain(message) : expect(error).toBeUndefined();
  });

  it('metric and label names follow Prometheus', () => {
    expect(metricNameError('vllm:prompt_tokens_total')).toBeUndefined();
    expect(metricNameError('vllm-prompt')).toContain('not a Prometheus metric name');
    expect(labelNameError('exported_pod')).toBeUndefined();
    expect(labelNameError('vllm:model')).toContain('not a Prometheus label name');
  });

  it('ranges include their bounds and skip unset values', () => {
    expect(rangeError(1, 1, 5, 'PUE')).toBeUndefined();
    expect(rangeError(undefined, 1, 5, 'PUE')).toBeUndefined();
    expect(rangeError(0.9, 1, 5, 'PUE')).toBe('Must be a number from 1 to 5 (PUE).');
  });

  it('host patterns are checked like the model regex', () => {
    expect(regexError('ucsd\\.edu|sdsc')).toBeUndefined();
    expect(regexError('ucsd[')).toContain('Not a valid regular expression');
  });
});
