//! The one postal address shape: the fields of the Daum/Kakao postcode widget plus the
//! recipient and their phone. Saved addresses (`addresses`), an order's shipping address
//! (`orders`) and checkout input all use [`PostalAddress`].

use crate::{
    Error,
    types::{PhoneNumber, Zonecode, mask_name, mask_phone, parse_name},
};

/// A Korean postal address with its recipient, as stored: phone as digits
/// (`01012345678`), zonecode as 5 digits. Input becomes one through
/// [`PostalAddress::checked`] at the edge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostalAddress {
    /// 받는 분.
    pub recipient: String,
    /// Their phone, digits (masked, `010-****-5678`, for staff who don't see personal data).
    pub phone: String,
    /// 우편번호, 5 digits.
    pub zonecode: String,
    /// 도로명 주소.
    pub road_address: String,
    /// 지번 주소.
    pub jibun_address: String,
    /// 건물명.
    pub building_name: String,
    /// 상세 주소.
    pub detail_address: String,
}

impl PostalAddress {
    /// Checks an address as entered and gives it in stored form: a name for the
    /// recipient, a Korean phone number (to digits), a 5-digit zonecode, a road address of
    /// 1–200 characters, the rest at most 200 characters each; everything trimmed.
    /// Errors: `INVALID_INPUT` naming the field.
    pub fn checked(self) -> Result<PostalAddress, Error> {
        let f = self;
        let road = f.road_address.trim();
        if road.is_empty() || road.chars().count() > 200 {
            return Err(Error::Invalid {
                field: "roadAddress",
                reason: "1–200 characters".into(),
            });
        }
        let limited = |s: &str, field: &'static str| {
            let s = s.trim();
            if s.chars().count() > 200 {
                Err(Error::Invalid {
                    field,
                    reason: "at most 200 characters".into(),
                })
            } else {
                Ok(s.to_owned())
            }
        };
        Ok(PostalAddress {
            recipient: parse_name(&f.recipient, "recipient")?,
            phone: PhoneNumber::parse(&f.phone, "phone")?.as_str().to_owned(),
            zonecode: Zonecode::parse(&f.zonecode)?.as_str().to_owned(),
            road_address: road.to_owned(),
            jibun_address: limited(&f.jibun_address, "jibunAddress")?,
            building_name: limited(&f.building_name, "buildingName")?,
            detail_address: limited(&f.detail_address, "detailAddress")?,
        })
    }

    /// The zonecode for fee rules (remote areas). `INVALID_INPUT` only for an address that
    /// did not come through [`PostalAddress::checked`].
    pub fn zonecode(&self) -> Result<Zonecode, Error> {
        Zonecode::parse(&self.zonecode)
    }

    /// As staff who don't see personal data see it: 홍*동, 010-****-5678, the area kept
    /// (road address, zonecode, building) but nothing that finds the door (detail and
    /// jibun address).
    #[must_use]
    pub fn masked(self) -> PostalAddress {
        PostalAddress {
            recipient: mask_name(&self.recipient),
            phone: mask_phone(&self.phone),
            jibun_address: String::new(),
            detail_address: String::new(),
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> PostalAddress {
        PostalAddress {
            recipient: " 홍길동 ".into(),
            phone: "010-1234-5678".into(),
            zonecode: "06236".into(),
            road_address: "서울특별시 강남구 테헤란로 152".into(),
            jibun_address: "서울특별시 강남구 역삼동 737".into(),
            building_name: "강남파이낸스센터".into(),
            detail_address: " 10층 ".into(),
        }
    }

    #[test]
    fn parsing_trims_and_normalises() {
        let a = fields().checked().expect("valid");
        assert_eq!(a.recipient, "홍길동");
        assert_eq!(a.phone, "01012345678");
        assert_eq!(a.detail_address, "10층");
        assert_eq!(a.zonecode().map(|z| z.number()).ok(), Some(6236));
    }

    #[test]
    fn each_bad_field_is_named() {
        let long = "가".repeat(201);
        let cases = [
            (
                PostalAddress {
                    road_address: " ".into(),
                    ..fields()
                },
                "roadAddress",
            ),
            (
                PostalAddress {
                    zonecode: "6236".into(),
                    ..fields()
                },
                "zonecode",
            ),
            (
                PostalAddress {
                    phone: "12".into(),
                    ..fields()
                },
                "phone",
            ),
            (
                PostalAddress {
                    recipient: String::new(),
                    ..fields()
                },
                "recipient",
            ),
            (
                PostalAddress {
                    detail_address: long,
                    ..fields()
                },
                "detailAddress",
            ),
        ];
        for (f, field) in cases {
            match f.checked() {
                Err(Error::Invalid { field: got, .. }) => assert_eq!(got, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn masking_keeps_the_area_only() {
        let a = fields().checked().expect("valid").masked();
        assert_eq!(a.recipient, "홍*동");
        assert_eq!(a.phone, "010-****-5678");
        assert_eq!((a.detail_address.as_str(), a.jibun_address.as_str()), ("", ""));
        assert_eq!(a.road_address, "서울특별시 강남구 테헤란로 152");
    }
}
