DROP TABLE inbound_activities;
DROP TABLE delivery_hosts;
DROP INDEX deliveries_host;
ALTER TABLE deliveries DROP COLUMN host;
