-- Carriers (tracking URL templates as data, so staff can add more) and shipments.

CREATE TABLE carriers (
    code                  text PRIMARY KEY CHECK (code ~ '^[A-Z0-9_]+$'),
    name                  text NOT NULL,
    tracking_url_template text NOT NULL CHECK (tracking_url_template LIKE '%{n}%'),
    active                boolean NOT NULL DEFAULT true,
    position              integer NOT NULL DEFAULT 0
);

INSERT INTO carriers (code, name, tracking_url_template, position) VALUES
    ('CJ', 'CJ대한통운', 'https://trace.cjlogistics.com/next/tracking.html?wblNo={n}', 0),
    ('EPOST', '우체국택배', 'https://service.epost.go.kr/trace.RetrieveDomRigiTraceList.comm?sid1={n}', 1),
    ('HANJIN', '한진택배', 'https://www.hanjin.com/kor/CMS/DeliveryMgr/WaybillResult.do?mCode=MN038&schLang=KR&wblnumText2={n}', 2),
    ('LOTTE', '롯데택배', 'https://www.lotteglogis.com/home/reservation/tracking/linkView?InvNo={n}', 3),
    ('LOGEN', '로젠택배', 'https://www.ilogen.com/web/personal/trace/{n}', 4);

CREATE TABLE shipments (
    id              uuid PRIMARY KEY,
    order_id        uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    carrier_code    text NOT NULL REFERENCES carriers (code),
    tracking_number text NOT NULL CHECK (tracking_number ~ '^[0-9]{9,15}$'),
    status          text NOT NULL DEFAULT 'IN_TRANSIT' CHECK (status IN ('IN_TRANSIT', 'DELIVERED')),
    actor           text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (carrier_code, tracking_number)
);
CREATE INDEX shipments_order_idx ON shipments (order_id, created_at);
