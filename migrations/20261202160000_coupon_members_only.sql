-- Members-only coupons (회원 전용 쿠폰): a guest cart shows COUPON_LOGIN_REQUIRED and cannot
-- check out with one until the customer signs in. Existing coupons stay open to guests.
ALTER TABLE coupons ADD COLUMN members_only boolean NOT NULL DEFAULT false;
