DROP TABLE deliveries;
DROP TABLE received_activities;
DROP TABLE domain_policies;
