-- Each product's rating summary as the review component last announced it (`review.rating_summary.changed`
-- on bazaar.review, consumed by bazaar_catalog::ratings): the listing sorts (`sort=rating`) and filters
-- (`minRating`) on it and shows it. Keyed by slug, as the events are; a summary may arrive before its
-- product is projected. Only a summary newer than the one held replaces it.
CREATE TABLE product_ratings (
    slug       text             PRIMARY KEY,
    -- Mean stars of the published reviews; NULL without any.
    average    double precision,
    count      integer          NOT NULL CHECK (count >= 0),
    -- Published reviews by stars, keys "1" to "5".
    histogram  jsonb            NOT NULL,
    changed_at timestamptz      NOT NULL
);
CREATE INDEX product_ratings_by_average ON product_ratings ((coalesce(average, 0)) DESC, count DESC, slug);
