package commerce

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/liveshop/liveshop/commerce/internal/api"
)

// Money in Liveshop is an integer count of the currency's minor unit (cents
// for USD, yen for JPY, fils for KWD) plus its ISO 4217 code. Integers keep
// sums exact; the exponent table below says where the decimal point goes.

// currencyExponents maps each supported ISO 4217 code to its number of
// minor-unit digits. A currency that is not listed is refused, so a typo
// never creates a product priced in a currency no processor settles. It is
// read-only after initialisation.
var currencyExponents = map[string]int{
	"AED": 2, "AUD": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2, "CLP": 0,
	"CNY": 2, "CZK": 2, "DKK": 2, "EUR": 2, "GBP": 2, "HKD": 2, "HUF": 2,
	"IDR": 2, "ILS": 2, "INR": 2, "ISK": 0, "JOD": 3, "JPY": 0, "KRW": 0,
	"KWD": 3, "MXN": 2, "MYR": 2, "NOK": 2, "NZD": 2, "OMR": 3, "PHP": 2,
	"PLN": 2, "SAR": 2, "SEK": 2, "SGD": 2, "THB": 2, "TND": 3, "TRY": 2,
	"TWD": 2, "UGX": 0, "USD": 2, "VND": 0, "XOF": 0, "ZAR": 2,
}

// Currency describes a supported currency for clients that format prices.
type Currency struct {
	Code string `json:"code"`
	// Exponent is the number of minor-unit digits: 2 for USD, 0 for JPY.
	Exponent int `json:"exponent"`
}

// Currencies lists the supported currencies, sorted by code.
func Currencies() []Currency {
	out := make([]Currency, 0, len(currencyExponents))
	for code, exp := range currencyExponents {
		out = append(out, Currency{code, exp})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

// Limits that turn absurd input into a clear 422 long before any sum could
// overflow an int64.
const (
	// maxPriceMajor is the highest price of one unit, in major units
	// (10 million dollars, euros, yen...).
	maxPriceMajor = 10_000_000
	// MaxStock is the most units one product may hold (stores check a
	// stock_delta against it in the same statement that applies it).
	MaxStock = 1_000_000
	// maxLineQuantity is the most units of one product in a cart or order.
	maxLineQuantity = 1_000
	// maxCartLines is the most distinct products in one cart.
	maxCartLines = 100
)

// normalizeCurrency upper-cases code and checks it is supported.
func normalizeCurrency(code string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(code))
	if _, ok := currencyExponents[c]; !ok {
		return "", api.New(422, "unknown_currency", fmt.Sprintf("currency %q is not a supported ISO 4217 code", code))
	}
	return c, nil
}

// checkPrice validates a unit price in minor units of currency.
func checkPrice(minor int64, currency string) error {
	exp, ok := currencyExponents[currency]
	if !ok {
		return api.New(422, "unknown_currency", fmt.Sprintf("currency %q is not supported", currency))
	}
	limit := int64(maxPriceMajor)
	for range exp {
		limit *= 10
	}
	if minor <= 0 || minor > limit {
		return Invalid("price_minor must be between 1 and %d for %s (%s)", limit, currency, FormatMoney(limit, currency))
	}
	return nil
}

// FormatMoney renders an amount for people and logs: "12.34 USD", "1200 JPY".
func FormatMoney(minor int64, currency string) string {
	exp := currencyExponents[currency]
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	s := strconv.FormatInt(minor, 10)
	if exp > 0 {
		for len(s) <= exp {
			s = "0" + s
		}
		s = s[:len(s)-exp] + "." + s[len(s)-exp:]
	}
	return sign + s + " " + currency
}
