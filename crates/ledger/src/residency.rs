//! Residency codes: ISO 3166-1 alpha-2 country codes, the only values a tenant's residency
//! policy and an anchoring authority's jurisdiction may hold. An unknown code would put every
//! authority outside the policy and every anchor of the tenant would fail forever, so codes
//! are checked where they enter (tenant creation, server configuration).

/// The officially assigned ISO 3166-1 alpha-2 codes (249), sorted.
const CODES: &str = "\
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ \
BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ \
DE DJ DK DM DO DZ \
EC EE EG EH ER ES ET \
FI FJ FK FM FO FR \
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY \
HK HM HN HR HT HU \
ID IE IL IM IN IO IQ IR IS IT \
JE JM JO JP \
KE KG KH KI KM KN KP KR KW KY KZ \
LA LB LC LI LK LR LS LT LU LV LY \
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ \
NA NC NE NF NG NI NL NO NP NR NU NZ \
OM \
PA PE PF PG PH PK PL PM PN PR PS PT PW PY \
QA \
RE RO RS RU RW \
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ \
TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ \
UA UG UM US UY UZ \
VA VC VE VG VI VN VU \
WF WS \
YE YT \
ZA ZM ZW";

/// True when `code` is an assigned ISO 3166-1 alpha-2 code (upper case, as ISO writes them).
pub fn is_country_code(code: &str) -> bool {
    code.len() == 2 && CODES.split(' ').any(|c| c == code)
}

/// Checks a residency or jurisdiction code and returns it in ISO's upper case.
///
/// # Errors
/// A message naming the code when it is not an assigned ISO 3166-1 alpha-2 code.
pub fn country_code(code: &str) -> Result<String, String> {
    let upper = code.trim().to_ascii_uppercase();
    if is_country_code(&upper) { Ok(upper) } else { Err(format!("{code:?} is not an ISO 3166-1 alpha-2 country code (e.g. CA, US, FR)")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_iso_3166_1() {
        let codes: Vec<&str> = CODES.split(' ').collect();
        assert_eq!(codes.len(), 249);
        assert!(codes.windows(2).all(|w| w[0] < w[1]), "sorted, no duplicates");
        assert!(codes.iter().all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())));
    }

    #[test]
    fn accepts_assigned_codes_and_refuses_others() {
        for ok in ["CA", "US", "FR", "GB", "DE", "ca", "Ca"] {
            assert!(country_code(ok).is_ok(), "{ok}");
        }
        assert_eq!(country_code("ca").unwrap(), "CA");
        for bad in ["", "C", "CAN", "EU", "UK", "XX", "QC", "ZZ", "C1", "é", "CA "] {
            let trimmed_ok = bad == "CA ";
            assert_eq!(country_code(bad).is_ok(), trimmed_ok, "{bad:?}");
        }
    }
}
