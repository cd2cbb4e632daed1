-- 001_ratings.sql - one rating per ride, for the drivers' averages.
CREATE TABLE ratings (
    ride_id     text        PRIMARY KEY,
    car_number  text        NOT NULL,
    driver_name text        NOT NULL,
    rating      smallint    NOT NULL CHECK (rating BETWEEN 1 AND 5),
    rated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ratings_car_number ON ratings (car_number);
