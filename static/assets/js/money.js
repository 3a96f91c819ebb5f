// money.js — prices as the API sends them: integer minor units plus an
// ISO 4217 currency code. Arithmetic stays in integers; only display
// converts, and it does so through a decimal string so no float rounding
// ever shows (12345 USD → "$123.45", 500 JPY → "¥500").

const digitsCache = new Map();

/** minorDigits is how many minor-unit digits a currency has (USD 2, JPY 0,
 * BHD 3), as the browser's ISO 4217 data knows it. */
export function minorDigits(currency) {
  const code = String(currency || '').toUpperCase();
  if (!digitsCache.has(code)) {
    let d = 2;
    try {
      d = new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions().maximumFractionDigits;
    } catch {
      // Unknown code: assume cents.
    }
    digitsCache.set(code, d);
  }
  return digitsCache.get(code);
}

/** useExponents makes the server's ISO 4217 table (GET /api/currencies:
 * [{code, exponent}]) the source of minor digits, so what sellers type and
 * what the server stores always agree. */
export function useExponents(list) {
  for (const c of list) digitsCache.set(c.code.toUpperCase(), c.exponent);
}

/** toDecimal turns minor units into an exact decimal string ("12.05"). */
export function toDecimal(minor, currency) {
  const digits = minorDigits(currency);
  const neg = minor < 0;
  const s = String(Math.abs(Math.trunc(Number(minor)))).padStart(digits + 1, '0');
  const whole = digits ? s.slice(0, -digits) : s;
  const frac = digits ? '.' + s.slice(-digits) : '';
  return (neg ? '-' : '') + whole + frac;
}

/** formatMoney shows an amount in the reader's locale. */
export function formatMoney(minor, currency, locale) {
  const code = String(currency || '').toUpperCase();
  try {
    const digits = minorDigits(code);
    return new Intl.NumberFormat(locale, { style: 'currency', currency: code, minimumFractionDigits: digits, maximumFractionDigits: digits })
      .format(toDecimal(minor, code));
  } catch {
    return `${toDecimal(minor, code)} ${code}`;
  }
}

/**
 * parseMoney reads what a seller typed ("12", "12.5", "12,50") into minor
 * units, or returns NaN when it is not a non-negative amount with at most
 * the currency's minor digits.
 */
export function parseMoney(text, currency) {
  const digits = minorDigits(currency);
  const m = String(text).trim().replace(',', '.').match(/^(\d{1,12})(?:\.(\d*))?$/);
  if (!m) return NaN;
  const frac = m[2] || '';
  if (frac.length > digits) return NaN;
  return Number(m[1]) * 10 ** digits + Number(frac.padEnd(digits, '0') || 0);
}
