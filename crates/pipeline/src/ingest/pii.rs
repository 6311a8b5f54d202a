//! The customer-PII header rule.
//!
//! A header is PII when its folded words (see [`header`](super::header)) name, in English or
//! French, in full or abbreviated:
//!
//! | class | words (any one) |
//! |---|---|
//! | person name | a bare person role (`customer cust client buyer cobuyer acheteur owner proprietaire contact cosigner endosseur`, optionally with `co`, `1`, `2`), or `name`/`nom`/`noms` unless a word names a thing (`make model product lender bank dealer store account company vendor supplier fournisseur marque modele produit compte preteur institution file`), or `firstname lastname surname fname lname prenom middlename fullname` |
//! | address | `address addr adr adresse street rue postal postcode zip zipcode apt suite` (and `code postal`) |
//! | phone | `phone telephone tel ph cell cellphone cellulaire mobile fax telecopieur portable` or a word containing `phone` |
//! | email | `email courriel mail` (and `e mail`), or a word containing `email` |
//! | SIN / NAS | `sin nas ssn`, `social insurance`, `assurance sociale` |
//! | driver's licence | `licence license licenceno permis dl` |
//! | licence plate | `plate plaque immatriculation` |
//! | date of birth | `dob ddn bday birthday birthdate birth naissance` |
//!
//! Person names cover staff names too: analyzers name staff by personnel code only, so a
//! `Salesperson Name` column is refused like a customer name, while `Salesperson Code` or
//! `salesperson_no` passes this rule (and must then be on the profile's allow-list). The rule
//! errs toward refusing: `email_opt_in` is refused although it holds a flag.

use super::header::words;

const THING_WORDS: &[&str] = &[
    "make",
    "model",
    "product",
    "lender",
    "bank",
    "dealer",
    "store",
    "account",
    "acct",
    "company",
    "vendor",
    "supplier",
    "fournisseur",
    "marque",
    "modele",
    "produit",
    "compte",
    "preteur",
    "institution",
    "file",
    "fichier",
    "op",
    "opcode",
    "journal",
    "department",
    "dept",
];

const NAME_WORDS: &[&str] =
    &["firstname", "lastname", "surname", "fname", "lname", "prenom", "prenoms", "middlename", "fullname", "givenname", "familyname"];
const ROLE_WORDS: &[&str] = &[
    "customer",
    "cust",
    "client",
    "buyer",
    "cobuyer",
    "acheteur",
    "coacheteur",
    "owner",
    "proprietaire",
    "contact",
    "cosigner",
    "endosseur",
];
const ADDRESS_WORDS: &[&str] =
    &["address", "addr", "adr", "adresse", "street", "rue", "postal", "postcode", "zip", "zipcode", "apt", "suite"];
const PHONE_WORDS: &[&str] =
    &["phone", "telephone", "tel", "ph", "cell", "cellphone", "cellulaire", "mobile", "fax", "telecopieur", "portable"];
const EMAIL_WORDS: &[&str] = &["email", "courriel", "mail"];
const SIN_WORDS: &[&str] = &["sin", "nas", "ssn"];
const LICENCE_WORDS: &[&str] = &["licence", "license", "licenceno", "licenseno", "permis", "dl"];
const PLATE_WORDS: &[&str] = &["plate", "plaque", "immatriculation"];
const DOB_WORDS: &[&str] = &["dob", "ddn", "bday", "birthday", "birthdate", "birth", "naissance"];

/// The PII class a header names, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PiiClass {
    /// A person's name.
    Name,
    /// A postal address or part of one.
    Address,
    /// A phone or fax number.
    Phone,
    /// An email address.
    Email,
    /// A social insurance number (SIN / NAS).
    Sin,
    /// A driver's licence number.
    DriversLicence,
    /// A licence plate.
    Plate,
    /// A date of birth.
    DateOfBirth,
}

impl PiiClass {
    /// A short English description.
    pub const fn describe(self) -> &'static str {
        match self {
            Self::Name => "a person's name",
            Self::Address => "an address",
            Self::Phone => "a phone number",
            Self::Email => "an email address",
            Self::Sin => "a social insurance number",
            Self::DriversLicence => "a driver's licence",
            Self::Plate => "a licence plate",
            Self::DateOfBirth => "a date of birth",
        }
    }
}

fn any(ws: &[String], set: &[&str]) -> bool {
    ws.iter().any(|w| set.contains(&w.as_str()))
}

fn has_pair(ws: &[String], a: &str, b: &str) -> bool {
    ws.windows(2).any(|p| p[0] == a && p[1] == b)
}

/// The PII class `header` names, or `None` if it names none (see the module docs).
pub fn classify(header: &str) -> Option<PiiClass> {
    let ws = words(header);
    if any(&ws, DOB_WORDS) {
        return Some(PiiClass::DateOfBirth);
    }
    if any(&ws, SIN_WORDS) || has_pair(&ws, "social", "insurance") || has_pair(&ws, "assurance", "sociale") {
        return Some(PiiClass::Sin);
    }
    if any(&ws, EMAIL_WORDS) || has_pair(&ws, "e", "mail") || ws.iter().any(|w| w.contains("email")) {
        return Some(PiiClass::Email);
    }
    if any(&ws, PHONE_WORDS) || ws.iter().any(|w| w.contains("phone")) {
        return Some(PiiClass::Phone);
    }
    if any(&ws, ADDRESS_WORDS) || has_pair(&ws, "code", "postal") || ws.iter().any(|w| w.contains("address")) {
        return Some(PiiClass::Address);
    }
    if any(&ws, LICENCE_WORDS) {
        return Some(PiiClass::DriversLicence);
    }
    if any(&ws, PLATE_WORDS) {
        return Some(PiiClass::Plate);
    }
    // A bare person role (`Customer`, `Co-Buyer`, `Client`) is a column of names.
    let role: Vec<&String> = ws.iter().filter(|w| !matches!(w.as_str(), "co" | "1" | "2")).collect();
    if role.len() == 1 && ROLE_WORDS.contains(&role[0].as_str()) {
        return Some(PiiClass::Name);
    }
    let names_thing = any(&ws, THING_WORDS);
    if any(&ws, NAME_WORDS) || (ws.iter().any(|w| matches!(w.as_str(), "name" | "names" | "nom" | "noms")) && !names_thing) {
        return Some(PiiClass::Name);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_english_and_french_pii_headers() {
        let cases = [
            ("Customer Name", PiiClass::Name),
            ("cust_name", PiiClass::Name),
            ("CustFirstName", PiiClass::Name),
            ("nom_client", PiiClass::Name),
            ("Prénom", PiiClass::Name),
            ("NOM DE FAMILLE", PiiClass::Name),
            ("Salesperson Name", PiiClass::Name),
            ("Address1", PiiClass::Address),
            ("Adresse", PiiClass::Address),
            ("Code postal", PiiClass::Address),
            ("ZIP", PiiClass::Address),
            ("tel", PiiClass::Phone),
            ("HomePhone", PiiClass::Phone),
            ("Téléphone cellulaire", PiiClass::Phone),
            ("E-mail", PiiClass::Email),
            ("courriel", PiiClass::Email),
            ("EmailAddress", PiiClass::Email),
            ("SIN", PiiClass::Sin),
            ("NAS", PiiClass::Sin),
            ("Numéro d'assurance sociale", PiiClass::Sin),
            ("Driver's Licence #", PiiClass::DriversLicence),
            ("DL Number", PiiClass::DriversLicence),
            ("permis de conduire", PiiClass::DriversLicence),
            ("DOB", PiiClass::DateOfBirth),
            ("ddn", PiiClass::DateOfBirth),
            ("Date de naissance", PiiClass::DateOfBirth),
            ("BirthDate", PiiClass::DateOfBirth),
            ("Plate", PiiClass::Plate),
            ("Customer", PiiClass::Name),
            ("Co-Buyer", PiiClass::Name),
            ("Client 2", PiiClass::Name),
            ("Acheteur", PiiClass::Name),
        ];
        for (h, want) in cases {
            assert_eq!(classify(h), Some(want), "{h}");
        }
    }

    #[test]
    fn operational_headers_are_not_pii() {
        for h in [
            "stock_no",
            "deal_no",
            "ro_number",
            "VIN",
            "salesperson_code",
            "Sales Rep ID",
            "F&I Mgr #",
            "Make",
            "Model Name",
            "Lender Name",
            "account_name",
            "Op Code",
            "Technician No",
            "Front Gross",
            "Amount Financed",
            "Finance Reserve",
            "Days In Stock",
            "Since",
            "Description",
            "Customer No",
            "Client Type",
        ] {
            assert_eq!(classify(h), None, "{h}");
        }
    }
}
