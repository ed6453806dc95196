//! People and places: names, addresses, channels, and the members' loyalty.

use uuid::Uuid;

#[rustfmt::skip]
pub(super) const SURNAMES: [(&str, f64); 20] = [
    ("김", 21.5), ("이", 14.7), ("박", 8.4), ("최", 4.7), ("정", 4.3), ("강", 2.4), ("조", 2.1), ("윤", 2.1),
    ("장", 2.0), ("임", 1.7), ("한", 1.5), ("오", 1.5), ("서", 1.5), ("신", 1.5), ("권", 1.4), ("황", 1.4),
    ("안", 1.4), ("송", 1.3), ("류", 1.2), ("홍", 1.1),
];

pub(super) const GIVEN: [&str; 40] = [
    "민준", "서연", "서준", "지우", "도윤", "서윤", "예준", "하윤", "시우", "민서", "하준", "지유", "주원", "윤서",
    "지호", "채원", "지후", "수아", "준우", "지민", "현우", "지아", "건우", "다은", "우진", "은서", "선우", "예은",
    "민재", "수빈", "현준", "소율", "연우", "예린", "유준", "하은", "정우", "지원", "승우", "유진",
];

/// (weight, zonecode, road address, jibun address, building): roughly where people live.
/// Jeju and Ulleung pay the remote-area fee of the settings.
#[rustfmt::skip]
pub(super) const ADDRESSES: [(f64, &str, &str, &str, &str); 24] = [
    (6.0, "06236", "서울특별시 강남구 테헤란로 152", "서울특별시 강남구 역삼동 737", "강남파이낸스센터"),
    (4.0, "05551", "서울특별시 송파구 올림픽로 300", "서울특별시 송파구 신천동 29", "롯데월드타워"),
    (4.0, "03925", "서울특별시 마포구 월드컵북로 396", "서울특별시 마포구 상암동 1601", "누리꿈스퀘어"),
    (3.0, "01811", "서울특별시 노원구 동일로 1414", "서울특별시 노원구 상계동 701", "상계주공아파트"),
    (3.0, "07327", "서울특별시 영등포구 여의대로 108", "서울특별시 영등포구 여의도동 60", "파크원"),
    (3.0, "04524", "서울특별시 중구 세종대로 110", "서울특별시 중구 태평로1가 31", ""),
    (5.0, "13529", "경기도 성남시 분당구 판교역로 235", "경기도 성남시 분당구 삼평동 681", "에이치스퀘어"),
    (4.0, "16514", "경기도 수원시 영통구 광교중앙로 140", "경기도 수원시 영통구 하동 1020", "광교자연앤힐스테이트"),
    (4.0, "10403", "경기도 고양시 일산동구 중앙로 1275", "경기도 고양시 일산동구 장항동 868", ""),
    (3.0, "18469", "경기도 화성시 동탄대로 537", "경기도 화성시 오산동 967", "동탄역 롯데캐슬"),
    (3.0, "14055", "경기도 안양시 동안구 시민대로 235", "경기도 안양시 동안구 관양동 1591", ""),
    (3.0, "11780", "경기도 의정부시 시민로 1", "경기도 의정부시 의정부동 1", ""),
    (4.0, "21999", "인천광역시 연수구 컨벤시아대로 165", "인천광역시 연수구 송도동 24-5", "포스코타워송도"),
    (4.0, "48058", "부산광역시 해운대구 센텀중앙로 79", "부산광역시 해운대구 우동 1484", "센텀사이언스파크"),
    (2.0, "47285", "부산광역시 부산진구 중앙대로 672", "부산광역시 부산진구 부전동 503-15", ""),
    (3.0, "42025", "대구광역시 수성구 동대구로 364", "대구광역시 수성구 범어동 179-1", ""),
    (2.0, "35209", "대전광역시 서구 둔산로 100", "대전광역시 서구 둔산동 1420", ""),
    (2.0, "61945", "광주광역시 서구 내방로 111", "광주광역시 서구 치평동 1200", ""),
    (1.0, "44675", "울산광역시 남구 중앙로 201", "울산광역시 남구 신정동 646-4", ""),
    (1.0, "30151", "세종특별자치시 한누리대로 2130", "세종특별자치시 보람동 660", ""),
    (1.0, "28501", "충청북도 청주시 상당구 상당로 82", "충청북도 청주시 상당구 북문로2가 89-1", ""),
    (1.0, "54968", "전북특별자치도 전주시 완산구 효자로 225", "전북특별자치도 전주시 완산구 효자동2가 1227", ""),
    (1.0, "63122", "제주특별자치도 제주시 문연로 6", "제주특별자치도 제주시 연동 312-1", ""),
    (0.3, "40240", "경상북도 울릉군 울릉읍 울릉순환로 220", "경상북도 울릉군 울릉읍 도동리 24", ""),
];

#[rustfmt::skip]
pub(super) const NOTES: [(&str, f64); 5] = [
    ("", 55.0), ("문 앞에 놓아주세요", 25.0), ("부재 시 경비실에 맡겨주세요", 10.0), ("배송 전 연락 바랍니다", 6.0),
    ("공동현관 비밀번호 #1234", 4.0),
];

/// A member: who they are and where their parcels go.
pub(super) struct Member {
    pub(super) id: Uuid,
    pub(super) email: String,
    pub(super) name: String,
    pub(super) mobile: String,
    pub(super) address: usize,
    pub(super) detail: String,
    pub(super) orders: u32,
}

/// A name, a mobile number, an address and its detail line.
#[derive(Clone)]
pub(super) struct Person {
    pub(super) name: String,
    pub(super) mobile: String,
    pub(super) address: usize,
    pub(super) detail: String,
}

/// Weights by member with their running sums (a Fenwick tree): drawing a member by weight
/// and changing one weight both take log(members) steps.
#[derive(Default)]
pub(super) struct Loyalty {
    /// 1-based: `tree[i]` sums the weights of `i - lowbit(i) .. i`.
    pub(super) tree: Vec<f64>,
    pub(super) weights: Vec<f64>,
}

impl Loyalty {
    pub(super) fn prefix(&self, mut n: usize) -> f64 {
        let mut sum = 0.0;
        while n > 0 {
            sum += self.tree[n - 1];
            n &= n - 1;
        }
        sum
    }

    pub(super) fn total(&self) -> f64 {
        self.prefix(self.weights.len())
    }

    pub(super) fn push(&mut self, w: f64) {
        let i = self.weights.len() + 1;
        let low = i & i.wrapping_neg();
        let node = w + self.prefix(i - 1) - self.prefix(i - low);
        self.tree.push(node);
        self.weights.push(w);
    }

    pub(super) fn set(&mut self, m: usize, w: f64) {
        let delta = w - self.weights[m];
        self.weights[m] = w;
        let mut i = m + 1;
        while i <= self.tree.len() {
            self.tree[i - 1] += delta;
            i += i & i.wrapping_neg();
        }
    }

    /// The member whose share of the running sum holds `x` (one with a weight).
    pub(super) fn find(&self, mut x: f64) -> usize {
        let n = self.tree.len();
        let (mut pos, mut step) = (0, n.checked_ilog2().map_or(0, |b| 1 << b));
        while step > 0 {
            if pos + step <= n && self.tree[pos + step - 1] <= x {
                x -= self.tree[pos + step - 1];
                pos += step;
            }
            step >>= 1;
        }
        // Rounding may land past the end or on a zero weight: take the last one with weight.
        let mut m = pos.min(n - 1);
        while self.weights[m] <= 0.0 && m > 0 {
            m -= 1;
        }
        m
    }
}
