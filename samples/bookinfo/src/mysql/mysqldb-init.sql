-- The ratings database of Bookinfo's ratings v2 (DB_TYPE=mysql): database `test`, table `ratings`,
-- one row per reviewer. Safe to run again. Example:
--   mysql -h 127.0.0.1 -u root < samples/bookinfo/src/mysql/mysqldb-init.sql

CREATE DATABASE IF NOT EXISTS test;
USE test;

CREATE TABLE IF NOT EXISTS `ratings` (
  `ReviewID` INT NOT NULL,
  `Rating` INT,
  PRIMARY KEY (`ReviewID`)
);

INSERT INTO ratings (ReviewID, Rating) VALUES (1, 5), (2, 4)
  ON DUPLICATE KEY UPDATE Rating = VALUES(Rating);
